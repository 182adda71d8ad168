r"""Numerically stable losses with torch.nn.functional's names and keyword arguments.

Swap ``torch.nn.functional`` for ``lossviz.stable`` (or ``lossviz.naive``) and nothing else changes:
torch 2.13's signatures (without the deprecated ``size_average`` / ``reduce``, which raise a
TypeError naming them), any device, second derivatives, ``torch.func`` (``grad``, ``vmap``,
``jvp``). The cross-entropies have a hand-derived backward (``torch.autograd.Function``): the
gradient of binary cross-entropy with logits is :math:`\sigma(x) - y` and that of cross-entropy is
:math:`\mathrm{softmax}(z) - t`, which is the lesson and also as fast as torch's own op. The backward
is written in differentiable torch ops on the saved inputs, so differentiating it again is exact.
(With a pos_weight and logits that require grad, the forward, which reads every logit anyway, also
computes the first derivative and the backward hands it out; a second derivative still goes through
the differentiable backward.)

Bad arguments raise :mod:`lossviz.errors` exceptions (ValueError / TypeError that are also
RuntimeError, as torch raises); the policy is in :mod:`lossviz._validate`: reject only what is
certainly a mistake (a target outside [0, 1], a NaN or infinite weight), accept what torch defines
(negative weights, uint8 / int32 class indices, empty inputs).

Where torch's own op loses accuracy these do not: float32 results are within 2 ULP of the exact
value for binary cross-entropy over x in [-1e4, 1e4] (torch's forward returns 0 for y = 0,
x <= -14.56; with a pos_weight, computed in float64 blocks and rounded once, within 2 ULP where
torch's op is off by 4.5 to 1.7e7) and within 4 ULP for cross-entropy, confident correct predictions
included (torch returns 0 from a margin of about 17).
"""
from __future__ import annotations

import torch

from . import _validate as check
from ._bce import BCEProbabilities, binary_cross_entropy_with_logits as _bce_with_logits
from ._cross_entropy import class_index_loss, probability_loss
from ._validate import POSITIVE_PROBABILITY
from .targets import batched, class_index_divisor, cross_entropy_arguments, probability_divisor, reduce

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "mse_loss"]


def _opmath(t):
    # Half types compute in float32 and round once at the end, like torch's opmath.
    if t is None:
        return None
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def _one_number_fits(weight, input):
    # a single weight (any shape with one element) broadcasts to any input, a 0-d one included
    return weight.reshape(()) if weight is not None and weight.numel() == 1 and weight.dim() > input.dim() else weight


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None,
                                     **deprecated):
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
        weight: rescales each element's loss; broadcasts to ``input``; finite (negative allowed).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        pos_weight: weight of the positive term, broadcast like torch: one per class along the last
            dimension of ``input`` (shape ``(C,)`` or ``(1, C)`` for an ``(N, C)`` multi-label input),
            or any shape that broadcasts to ``input``; finite.

    Shape: input ``(*)``, target ``(*)``; output scalar, or ``(*)`` with ``reduction='none'``.

    Example::

        >>> x = torch.tensor([-100.0, 0.0, 100.0])
        >>> binary_cross_entropy_with_logits(x, torch.tensor([0.0, 1.0, 1.0]), reduction="none")
        tensor([0.0000, 0.6931, 0.0000])
    """
    func = "binary_cross_entropy_with_logits"
    check.no_deprecated(func, deprecated)
    check.input_target(func, input, target, reduction, weight)  # the targets' range: in _bce_with_logits
    if pos_weight is not None:
        check.broadcastable_weight(func, "pos_weight", pos_weight, input, last_dim_only=True)
    weight, pos_weight = _one_number_fits(weight, input), _one_number_fits(pos_weight, input)
    loss = _bce_with_logits(func, _opmath(input), _opmath(target), _opmath(weight), _opmath(pos_weight), reduction)
    return loss.to(input.dtype)


def binary_cross_entropy(input, target, weight=None, reduction="mean", **deprecated):
    r"""Binary cross-entropy on probabilities, computed as accurately as probabilities allow.

    .. math:: \ell = -[\,y \log p + (1 - y)\,\mathrm{log1p}(-p)\,], \quad 0 \cdot \log 0 = 0

    Unlike torch, nothing is clamped: a probability of exactly 0 for a positive label gives
    ``inf``, because that is the true loss. torch clamps each log at -100 and its gradient's
    denominator at 1e-12, which hides the problem instead of solving it. Once ``p = sigmoid(x)``
    has rounded to 0 or 1 the information is gone: use :func:`binary_cross_entropy_with_logits`.

    Args:
        input: probabilities in [0, 1], any shape, floating dtype.
        target: same shape and dtype as ``input``, values in [0, 1].
        weight: rescales each element's loss; broadcasts to ``input``; finite.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Example::

        >>> binary_cross_entropy(torch.tensor([0.5, 1.0]), torch.tensor([1.0, 1.0]), reduction="none")
        tensor([0.6931, 0.0000])
    """
    func = "binary_cross_entropy"
    check.no_deprecated(func, deprecated)
    check.input_target(func, input, target, reduction, weight, target_range=POSITIVE_PROBABILITY)
    check.unit_interval(func, "input", input, "probabilities (apply sigmoid first, or use the logits form)")
    loss = BCEProbabilities.apply(_opmath(input), _opmath(target))
    weight = _one_number_fits(weight, input)
    if weight is not None:
        loss = loss * weight
    return reduce(loss, reduction).to(input.dtype)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0,
                  **deprecated):
    r"""Cross-entropy on logits through LogSumExp, exact for confident predictions.

    .. math::
        \ell_i = -\sum_j t_{ij} \log \mathrm{softmax}(z_i)_j, \qquad
        \log \mathrm{softmax}(z)_j = (z_j - m) - \mathrm{log1p}\Big(\sum_{k \ne \arg\max} e^{z_k - m}\Big),
        \quad m = \max_k z_k

    computed in float64 a slice of rows at a time and rounded once. Gradient:
    :math:`\mathrm{softmax}(z) - t`, formed without an N x C target matrix.

    Args:
        input: logits ``(N, C)``, ``(N, C, d1, ...)`` (e.g. segmentation) or ``(C,)`` (one sample).
        target: class indices ``(N)`` / ``(N, d1, ...)`` / ``()`` as an integer tensor (int64, int32,
            uint8, ...), or class probabilities with the shape and dtype of ``input``.
        weight: ``(C,)`` finite weight per class (negative allowed). With class indices, ``'mean'``
            divides by :math:`\sum_i w_{y_i}`, not N.
        ignore_index: class index whose targets contribute nothing (class-index targets only);
            ``'mean'`` divides by the number kept, and is NaN if none is kept.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        label_smoothing: :math:`\epsilon` in [0, 1]; the target becomes
            :math:`(1 - \epsilon)\,\mathrm{onehot} + \epsilon / C` (torch's convention).

    Example::

        >>> cross_entropy(torch.tensor([[17.0, 0.0, -1.0]]), torch.tensor([0]))
        tensor(5.6629e-08)
    """
    func = "cross_entropy"
    check.no_deprecated(func, deprecated)
    label_smoothing = cross_entropy_arguments(func, input, target, weight, ignore_index, reduction, label_smoothing)
    logits, target, unbatched = batched(input, target)
    if target.is_floating_point():
        loss = probability_loss(logits, target, weight, label_smoothing)
        divisor = probability_divisor(logits, torch.float64) if reduction == "mean" else None
    else:
        loss = class_index_loss(logits, target, ignore_index, weight, label_smoothing)
        divisor = class_index_divisor(target, ignore_index, weight, torch.float64) if reduction == "mean" else None
    if unbatched and reduction == "none":
        loss = loss.squeeze(0)
    return reduce(loss, reduction, divisor).to(input.dtype)


def mse_loss(input, target, reduction="mean", weight=None, **deprecated):
    r"""Mean squared error :math:`\ell = w (x - y)^2`, gradient :math:`2 w (x - y)`.

    With ``weight``, ``'mean'`` divides by :math:`\sum w` (torch 2.13's weighted MSE), not N.
    Plain torch ops: autograd, second derivatives and torch.func come for free.

    Args:
        input, target: same shape and floating dtype.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        weight: one weight per element, the shape of ``input``; finite.

    Example::

        >>> mse_loss(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 0.0]))
        tensor(5.)
    """
    func = "mse_loss"
    check.no_deprecated(func, deprecated)
    check.input_target(func, input, target, reduction)
    if weight is not None:
        check.tensor(func, "weight", weight)
        check.same_shape(func, "weight", weight, "input", input)
        check.same_dtype(func, "weight", weight, "input", input)
        check.same_device(func, "weight", weight, "input", input)
        check.finite(func, "weight", weight)
    squared = (input - target).square()
    if weight is None:
        return reduce(squared, reduction)
    squared = squared * weight
    return reduce(squared, reduction, weight.sum() if reduction == "mean" else None)
