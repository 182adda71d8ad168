r"""Numerically stable losses with torch.nn.functional's names and keyword arguments.

Swap ``torch.nn.functional`` for ``lossviz.stable`` (or ``lossviz.naive``) and nothing else changes.
Each loss has a hand-derived backward (``torch.autograd.Function``): the gradient of binary
cross-entropy with logits is :math:`\sigma(x) - y` and that of cross-entropy is
:math:`\mathrm{softmax}(z) - t`, which is the lesson and also faster than differentiating the
forward's pieces.

Where torch's own op loses accuracy these do not: float32 results are within 2 ULP of the exact
value for binary cross-entropy over x in [-1e4, 1e4] (torch's forward returns 0 for y = 0,
x <= -14.56) and within 4 ULP for cross-entropy, confident correct predictions included (torch
returns 0 from a margin of about 17).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from . import _validate as check
from ._validate import POSITIVE_PROBABILITY
from .targets import batched, cross_entropy_arguments, effective_targets, reduce

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "mse_loss"]


def _opmath(t: torch.Tensor) -> torch.Tensor:
    # Half types compute in float32 and round once at the end, like torch's opmath.
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def _bce_with_logits_terms(x, y, pos_weight):
    """Element-wise -[pw*y*log(sigmoid(x)) + (1-y)*log(1-sigmoid(x))], unweighted."""
    buffer = x.abs().neg_()
    # log1p(exp(-|x|)) stays apart from the linear part: both are >= 0, so their sum cannot cancel.
    log_term = F.softplus(buffer)
    if pos_weight is None:
        linear = torch.clamp_min(x, 0, out=buffer).addcmul_(x, y, value=-1)  # max(x, 0) - x*y
        return linear.add_(log_term)
    scaled_y = pos_weight * y
    loss = (1 - y).mul_(x.clamp_min(0)).addcmul_(scaled_y, x.neg().clamp_min_(0))
    return loss.addcmul_(scaled_y.add_(1).sub_(y), log_term)  # + (pw*y + 1 - y) * log term


def _reduced(loss, reduction):
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _gradient_scale(grad, reduction, count):
    # 'mean' and 'sum' hand back one number: multiply by it instead of expanding it to a tensor
    return grad / count if reduction == "mean" and count else grad


class _BCEWithLogits(torch.autograd.Function):
    """Binary cross-entropy with logits, weighted and reduced, with its hand-derived backward."""

    @staticmethod
    def forward(ctx, x, y, weight, pos_weight, reduction):
        loss = _bce_with_logits_terms(x, y, pos_weight)
        if weight is not None:
            loss = loss.mul_(weight)
        ctx.save_for_backward(x, y, weight, pos_weight)
        ctx.reduction = reduction
        return _reduced(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, y, weight, pos_weight = ctx.saved_tensors
        scale = _gradient_scale(grad, ctx.reduction, x.numel())
        if weight is not None:
            scale = scale * weight
        grad_x = grad_y = grad_weight = grad_pos_weight = None
        if ctx.needs_input_grad[0]:
            if pos_weight is None:
                grad_x = torch.sigmoid(x).sub_(y).mul_(scale)  # sigma(x) - y
            else:
                # (pw*y + 1 - y) * sigma(x) - pw*y: scaled by pw where y = 1, untouched where y = 0
                scaled_y = pos_weight * y
                grad_x = (scaled_y + 1 - y).mul_(torch.sigmoid(x)).sub_(scaled_y).mul_(scale)
        if any(ctx.needs_input_grad[1:4]):
            minus_log_p, minus_log_not_p = F.softplus(-x), F.softplus(x)  # -log sigma(x), -log(1 - sigma(x))
            positive = minus_log_p if pos_weight is None else pos_weight * minus_log_p
            if ctx.needs_input_grad[1]:
                grad_y = (positive - minus_log_not_p) * scale
            if ctx.needs_input_grad[2]:
                unweighted = y * positive + (1 - y) * minus_log_not_p
                grad_weight = (unweighted * _gradient_scale(grad, ctx.reduction, x.numel())).sum_to_size(weight.shape)
            if ctx.needs_input_grad[3]:
                grad_pos_weight = (y * minus_log_p * scale).sum_to_size(pos_weight.shape)
        return grad_x, grad_y, grad_weight, grad_pos_weight, None


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    r"""Binary cross-entropy on logits, computed without forming sigmoid(x).

    .. math::
        \ell = \max(x, 0) - x y + \log(1 + e^{-|x|})
        \qquad\text{(with } \log(1 + e^{-|x|}) \text{ evaluated by log1p)}

    and, with ``pos_weight`` :math:`p_c`,
    :math:`\ell = -[p_c\, y \log\sigma(x) + (1 - y)\log(1 - \sigma(x))]`.
    Gradient: :math:`\partial\ell/\partial x = (p_c y + 1 - y)\,\sigma(x) - p_c y`.

    Args:
        input: logits, any shape, floating dtype.
        target: same shape and dtype as ``input``, values in [0, 1].
        weight: rescales each element's loss; broadcasts to ``input``.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        pos_weight: weight of the positive term, one per class along the last dimension of
            ``input`` (shape ``(C,)`` for an ``(N, C)`` multi-label input), non-negative.

    Shape: input ``(*)``, target ``(*)``; output scalar, or ``(*)`` with ``reduction='none'``.

    Example::

        >>> x = torch.tensor([-100.0, 0.0, 100.0])
        >>> binary_cross_entropy_with_logits(x, torch.tensor([0.0, 1.0, 1.0]), reduction="none")
        tensor([0.0000, 0.6931, 0.0000])
    """
    func = "binary_cross_entropy_with_logits"
    check.input_target(func, input, target, reduction, weight, target_range=POSITIVE_PROBABILITY)
    # With pos_weight the log term is scaled by up to pw, and so is its rounding error (4.5 ULP for
    # pw = 3 where the loss is subnormal, as in torch): that path computes in float64, rounds once.
    compute = _opmath if pos_weight is None else torch.Tensor.double
    if pos_weight is not None:
        check.broadcastable_weight(func, "pos_weight", pos_weight, input, last_dim_only=True)
        pos_weight = compute(pos_weight)
    if weight is not None:
        weight = compute(weight)
    return _BCEWithLogits.apply(compute(input), compute(target), weight, pos_weight, reduction).to(input.dtype)


class _BCEProbabilities(torch.autograd.Function):
    """Element-wise -[y log p + (1-y) log(1-p)] with 0 * log 0 = 0 and log1p for log(1 - p)."""

    @staticmethod
    def forward(ctx, p, y):
        ctx.save_for_backward(p, y)
        return -(torch.xlogy(y, p) + torch.special.xlog1py(1 - y, -p))

    @staticmethod
    def backward(ctx, grad):
        p, y = ctx.saved_tensors
        grad_p = grad_y = None
        if ctx.needs_input_grad[0]:
            # -y/p + (1-y)/(1-p), each term 0 where its label weight is exactly 0 (no 0/0)
            positive = torch.where(y == 0, 0.0, -y / p)
            negative = torch.where(y == 1, 0.0, (1 - y) / (1 - p))
            grad_p = (positive + negative) * grad
        if ctx.needs_input_grad[1]:
            grad_y = (torch.log1p(-p) - torch.log(p)) * grad
        return grad_p, grad_y


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    r"""Binary cross-entropy on probabilities, computed as accurately as probabilities allow.

    .. math:: \ell = -[\,y \log p + (1 - y)\,\mathrm{log1p}(-p)\,], \quad 0 \cdot \log 0 = 0

    Unlike torch, nothing is clamped: a probability of exactly 0 for a positive label gives
    ``inf``, because that is the true loss. torch clamps each log at -100 and its gradient's
    denominator at 1e-12, which hides the problem instead of solving it. Once ``p = sigmoid(x)``
    has rounded to 0 or 1 the information is gone: use :func:`binary_cross_entropy_with_logits`.

    Args:
        input: probabilities in [0, 1], any shape, floating dtype.
        target: same shape and dtype as ``input``, values in [0, 1].
        weight: rescales each element's loss; broadcasts to ``input``.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Example::

        >>> binary_cross_entropy(torch.tensor([0.5, 1.0]), torch.tensor([1.0, 1.0]), reduction="none")
        tensor([0.6931, 0.0000])
    """
    func = "binary_cross_entropy"
    check.input_target(func, input, target, reduction, weight, target_range=POSITIVE_PROBABILITY)
    check.unit_interval(func, "input", input, "probabilities (apply sigmoid first, or use the logits form)")
    loss = _BCEProbabilities.apply(_opmath(input), _opmath(target))
    if weight is not None:
        loss = loss * weight
    return reduce(loss, reduction).to(input.dtype)


class _SoftmaxCrossEntropy(torch.autograd.Function):
    """Per-sample -sum_j a_ij log softmax(z)_ij for logits z and effective targets a (class dim 1)."""

    @staticmethod
    def forward(ctx, logits, a):
        top, top_index = logits.max(dim=1, keepdim=True)
        shifted = logits - top  # exact in float64 for float32 logits
        scaled = shifted.exp()
        # log sum_j exp(shifted_j) = log1p(sum over the classes other than the top one): a confident
        # correct prediction keeps its tiny loss instead of rounding log(1 + tiny) to 0.
        others = scaled.scatter(1, top_index, 0.0).sum(dim=1, keepdim=True)
        log_norm = torch.log1p(others)
        row_total = a.sum(dim=1, keepdim=True)
        # a_ij * -shifted_ij is 0 where a_ij is 0, even for a -inf logit (a masked class)
        loss = torch.where(a != 0, a * -shifted, 0.0).sum(dim=1) + (row_total * log_norm).squeeze(1)
        ctx.save_for_backward(scaled, others, shifted, log_norm, a, row_total)
        return loss

    @staticmethod
    def backward(ctx, grad):
        scaled, others, shifted, log_norm, a, row_total = ctx.saved_tensors
        grad = grad.unsqueeze(1)
        grad_logits = grad_a = None
        if ctx.needs_input_grad[0]:
            softmax = scaled / (1 + others)
            grad_logits = (softmax * row_total - a) * grad  # softmax - t for rows that sum to 1
        if ctx.needs_input_grad[1]:
            grad_a = (log_norm - shifted) * grad  # -log softmax
        return grad_logits, grad_a


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    r"""Cross-entropy on logits through LogSumExp, exact for confident predictions.

    .. math::
        \ell_i = -\sum_j t_{ij} \log \mathrm{softmax}(z_i)_j, \qquad
        \log \mathrm{softmax}(z)_j = (z_j - m) - \mathrm{log1p}\Big(\sum_{k \ne \arg\max} e^{z_k - m}\Big),
        \quad m = \max_k z_k

    computed in float64 and rounded once. Gradient: :math:`\mathrm{softmax}(z) - t`.

    Args:
        input: logits ``(N, C)``, ``(N, C, d1, ...)`` (e.g. segmentation) or ``(C,)`` (one sample).
        target: class indices ``(N)`` / ``(N, d1, ...)`` / ``()`` as an integer tensor, or class
            probabilities with the shape and dtype of ``input``.
        weight: ``(C,)`` non-negative weight per class. With class indices, ``'mean'`` divides by
            :math:`\sum_i w_{y_i}`, not N.
        ignore_index: class index whose targets contribute nothing (class-index targets only);
            ``'mean'`` divides by the number kept, and is NaN if none is kept.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        label_smoothing: :math:`\epsilon` in [0, 1]; the target becomes
            :math:`(1 - \epsilon)\,\mathrm{onehot} + \epsilon / C` (torch's convention).

    Example::

        >>> cross_entropy(torch.tensor([[17.0, 0.0, -1.0]]), torch.tensor([0]))
        tensor(4.5400e-08)
    """
    func = "cross_entropy"
    label_smoothing = cross_entropy_arguments(func, input, target, weight, ignore_index, reduction, label_smoothing)
    logits, target, unbatched = batched(input, target)
    if weight is not None:
        weight = weight.double()
    a, divisor = effective_targets(logits, target, weight, ignore_index, label_smoothing, torch.float64)
    loss = _SoftmaxCrossEntropy.apply(logits.double(), a)
    if unbatched and reduction == "none":
        loss = loss.squeeze(0)
    return reduce(loss, reduction, divisor).to(input.dtype)


class _SquaredError(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, y):
        difference = x - y
        ctx.save_for_backward(difference)
        return difference.square()

    @staticmethod
    def backward(ctx, grad):
        (difference,) = ctx.saved_tensors
        grad_x = 2 * difference * grad  # d/dx (x - y)^2
        return grad_x, (-grad_x if ctx.needs_input_grad[1] else None)


def mse_loss(input, target, reduction="mean"):
    r"""Mean squared error :math:`\ell = (x - y)^2`, gradient :math:`2 (x - y)` (divided by N for 'mean').

    Args:
        input, target: same shape and floating dtype.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Example::

        >>> mse_loss(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 0.0]))
        tensor(5.)
    """
    check.input_target("mse_loss", input, target, reduction)
    return reduce(_SquaredError.apply(input, target), reduction)
