r"""The textbook formulas, written as a textbook writes them: nothing clamped, nothing rearranged.

Same names and arguments as ``torch.nn.functional`` and ``lossviz.stable``. These really produce
the inf and NaN the notebooks show: in float32 ``sigmoid(x)`` rounds to exactly 1 from x = 16.64,
so ``log(1 - sigmoid(x))`` is ``log(0) = -inf``; ``softmax`` underflows to 0 for a logit 104 below
the largest, so ``log(softmax(z))`` is ``-inf`` there; autograd then meets 0/0 and returns NaN.
Use them to see the failure, never to train.
"""
from __future__ import annotations

import torch

from . import _validate as check
from ._validate import POSITIVE_PROBABILITY
from .targets import batched, cross_entropy_arguments, effective_targets, reduce

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "mse_loss",
           "bce_with_logits_without_log1p"]


def _weighted(loss, weight, reduction, dtype):
    if weight is not None:
        # one number broadcasts to any input, a 0-d one included
        loss = loss * (weight.reshape(()) if weight.numel() == 1 and weight.dim() > loss.dim() else weight)
    return reduce(loss, reduction).to(dtype)


def binary_cross_entropy(input, target, weight=None, reduction="mean", **deprecated):
    r"""Textbook binary cross-entropy on probabilities: :math:`-[y \log p + (1 - y) \log(1 - p)]`.

    ``p = 1`` with ``y = 1`` gives ``0 * log(0) = 0 * -inf = NaN``; ``p = 1`` with ``y = 0`` gives inf.

    Example::

        >>> binary_cross_entropy(torch.tensor([1.0, 1.0]), torch.tensor([0.0, 1.0]), reduction="none")
        tensor([inf, nan])
    """
    func = "binary_cross_entropy"
    check.no_deprecated(func, deprecated)
    check.input_target(func, input, target, reduction, weight, target_range=POSITIVE_PROBABILITY)
    check.unit_interval(func, "input", input, "probabilities (apply sigmoid first)")
    loss = -(target * torch.log(input) + (1 - target) * torch.log(1 - input))
    return _weighted(loss, weight, reduction, input.dtype)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None,
                                     **deprecated):
    r"""Textbook binary cross-entropy on logits: ``p = sigmoid(x)``, then
    :math:`-[p_c\, y \log p + (1 - y) \log(1 - p)]`.

    Example::

        >>> x = torch.tensor([20.0, 20.0])  # float32: sigmoid(20) rounds to exactly 1
        >>> binary_cross_entropy_with_logits(x, torch.tensor([0.0, 1.0]), reduction="none")
        tensor([inf, nan])
    """
    func = "binary_cross_entropy_with_logits"
    check.no_deprecated(func, deprecated)
    check.input_target(func, input, target, reduction, weight, target_range=POSITIVE_PROBABILITY)
    positive = target
    if pos_weight is not None:
        check.broadcastable_weight(func, "pos_weight", pos_weight, input, last_dim_only=True)
        if pos_weight.numel() == 1 and pos_weight.dim() > input.dim():
            pos_weight = pos_weight.reshape(())
        positive = pos_weight * target
    p = torch.sigmoid(input)
    loss = -(positive * torch.log(p) + (1 - target) * torch.log(1 - p))
    return _weighted(loss, weight, reduction, input.dtype)


def bce_with_logits_without_log1p(input, target, weight=None, reduction="mean"):
    r"""The logits form with ``log(1 + exp(-|x|))`` where ``log1p`` belongs.

    :math:`\max(x, 0) - x y + \log(1 + e^{-|x|})`: finite everywhere, but ``1 + e^{-|x|}`` rounds to
    1 once :math:`e^{-|x|}` is below half an ULP of 1, so the last term becomes exactly 0 (float32:
    from |x| = 16.64) and, for y = 1, x > 0 (or y = 0, x < 0), the whole loss with it.

    Example::

        >>> bce_with_logits_without_log1p(torch.tensor([20.0]), torch.tensor([1.0]), reduction="none")
        tensor([0.])
    """
    func = "bce_with_logits_without_log1p"
    check.input_target(func, input, target, reduction, weight, target_range=POSITIVE_PROBABILITY)
    loss = input.clamp_min(0) - input * target + torch.log(1 + torch.exp(-input.abs()))
    return _weighted(loss, weight, reduction, input.dtype)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0,
                  **deprecated):
    r"""Textbook cross-entropy: ``log(softmax(z))``, then the negative log-probability of the target.

    For ``z = [1000, 0, -1000]`` in float32, ``softmax(z) = [1, 0, 0]`` and ``log`` gives
    ``[0, -inf, -inf]``: target 1 costs inf, and the gradient is NaN even for target 0 (autograd
    divides 0 by the softmax value 0). Weight, ignore_index, label_smoothing and the reductions
    behave exactly as in torch.

    Example::

        >>> cross_entropy(torch.tensor([[1000.0, 0.0, -1000.0]]), torch.tensor([1]))
        tensor(inf)
    """
    func = "cross_entropy"
    check.no_deprecated(func, deprecated)
    label_smoothing = cross_entropy_arguments(func, input, target, weight, ignore_index, reduction, label_smoothing)
    logits, target, unbatched = batched(input, target)
    a, divisor = effective_targets(logits, target, weight, ignore_index, label_smoothing, input.dtype)
    log_p = torch.log(torch.softmax(logits, dim=1))
    loss = -torch.where(a != 0, a * log_p, 0.0).sum(dim=1)
    if unbatched and reduction == "none":
        loss = loss.squeeze(0)
    return reduce(loss, reduction, divisor).to(input.dtype)


def mse_loss(input, target, reduction="mean", weight=None, **deprecated):
    r"""Mean squared error :math:`w (x - y)^2` through autograd (it has nothing to overflow).

    With ``weight`` (the shape of ``input``), ``'mean'`` divides by :math:`\sum w`, as torch 2.13 does.

    Example::

        >>> mse_loss(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 0.0]))
        tensor(5.)
    """
    func = "mse_loss"
    check.no_deprecated(func, deprecated)
    check.input_target(func, input, target, reduction)
    squared = (input - target) ** 2
    if weight is None:
        return reduce(squared, reduction)
    check.tensor(func, "weight", weight)
    check.same_shape(func, "weight", weight, "input", input)
    check.same_dtype(func, "weight", weight, "input", input)
    check.finite(func, "weight", weight)
    return reduce(squared * weight, reduction, weight.sum() if reduction == "mean" else None)
