"""Targets for cross-entropy: label smoothing in both conventions, and the weighted target matrix.

Every cross-entropy variant torch offers is one formula, loss_i = -sum_j a_ij * log p_ij, with an
effective target a_ij >= 0 that folds in the class weight, label smoothing and ignore_index. Its
gradient with respect to the logits is p_ij * sum_k a_ik - a_ij (softmax - target when the row
sums to 1). Both lossviz.stable and lossviz.naive build a_ij here, so they differ only in how they
compute log p.
"""
from __future__ import annotations

import torch

from . import _validate as check
from .errors import LossvizTypeError, LossvizValueError

CONVENTIONS = ("torch", "uniform_others")


def smoothed_targets(target: torch.Tensor, num_classes: int, label_smoothing: float,
                     convention: str = "torch", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    r"""Smoothed one-hot targets, in either of the two conventions people use.

    - ``"torch"`` (what ``nn.CrossEntropyLoss(label_smoothing=eps)`` uses):
      :math:`t = (1 - \epsilon)\,\mathrm{onehot} + \epsilon / K`, so the true class gets
      :math:`1 - \epsilon + \epsilon/K`.
    - ``"uniform_others"`` (many blog posts): :math:`1 - \epsilon` on the true class and
      :math:`\epsilon / (K - 1)` on each other class. It equals torch's with
      :math:`\epsilon_\text{torch} = \epsilon K / (K - 1)`.

    Args:
        target: class indices, an integer tensor of any shape with values in [0, num_classes).
        num_classes: K, at least 2.
        label_smoothing: epsilon in [0, 1].
        convention: ``"torch"`` or ``"uniform_others"``.
        dtype: floating dtype of the result.

    Shape: target ``(*)`` gives ``(*, K)``.

    Example::

        >>> smoothed_targets(torch.tensor([0]), 4, 0.1)
        tensor([[0.9250, 0.0250, 0.0250, 0.0250]])
        >>> smoothed_targets(torch.tensor([0]), 4, 0.1, convention="uniform_others")
        tensor([[0.9000, 0.0333, 0.0333, 0.0333]])
    """
    func = "smoothed_targets"
    check.tensor(func, "target", target, floating=False)
    num_classes = check.integer(func, "num_classes", num_classes, minimum=2)
    epsilon = check.fraction(func, "label_smoothing", label_smoothing)
    check.dtype(func, "dtype", dtype)
    if convention not in CONVENTIONS:
        raise LossvizValueError(f"{func}(): argument 'convention' must be 'torch' or 'uniform_others', got {convention!r}")
    class_indices(func, "target", target, num_classes, ignore_index=None)
    onehot = torch.nn.functional.one_hot(target.long(), num_classes).to(dtype)
    if convention == "torch":
        return onehot * (1 - epsilon) + epsilon / num_classes
    return onehot * (1 - epsilon) + (1 - onehot) * (epsilon / (num_classes - 1))


def class_indices(func: str, name: str, target: torch.Tensor, num_classes: int, ignore_index: int | None) -> None:
    """Integer class indices in [0, num_classes), ``ignore_index`` aside (see ``_validate``)."""
    check.class_indices(func, name, target, num_classes, ignore_index)


def cross_entropy_arguments(func, input, target, weight, ignore_index, reduction, label_smoothing):
    """Validates cross_entropy's arguments the way torch reads them; returns the label_smoothing float."""
    check.tensor(func, "input", input)
    check.tensor(func, "target", target, floating=False)
    check.reduction_name(func, reduction)
    label_smoothing = check.fraction(func, "label_smoothing", label_smoothing)
    check.integer(func, "ignore_index", ignore_index)
    if input.dim() == 0:
        raise LossvizValueError(
            f"{func}(): argument 'input' must hold logits of shape (C,) or (N, C, ...), got a 0-d tensor")
    check.same_device(func, "target", target, "input", input)
    classes = input.shape[0] if input.dim() == 1 else input.shape[1]
    index_shape = input.shape[1:] if input.dim() == 1 else (input.shape[0],) + input.shape[2:]
    if target.is_floating_point() and target.shape != input.shape and target.shape == index_shape:
        raise LossvizTypeError(
            f"{func}(): argument 'target' has the shape of class indices {tuple(index_shape)} but dtype "
            f"{target.dtype}; class indices must be an integer tensor (use target.long()), and class "
            f"probabilities must have the shape of 'input' {tuple(input.shape)}"
        )
    if target.is_floating_point():
        check.same_shape(func, "target", target, "input", input)
        check.same_dtype(func, "target", target, "input", input)
        check.unit_interval(func, "target", target, "class probabilities")
        if ignore_index != -100:
            raise LossvizValueError(f"{func}(): argument 'ignore_index' works with class-index targets only, "
                                    f"got ignore_index={ignore_index} with probability targets")
    else:
        if input.dim() == 1 and target.dim() == 1:
            raise LossvizValueError(
                f"{func}(): 1-D 'input' of shape {tuple(input.shape)} is read as the logits of ONE sample over "
                f"{classes} classes, but 'target' has shape {tuple(target.shape)}. For a batch of N samples "
                f"pass logits of shape (N, C); for one binary logit per sample use binary_cross_entropy_with_logits"
            )
        if tuple(target.shape) != tuple(index_shape):
            raise LossvizValueError(
                f"{func}(): argument 'target' must have shape {tuple(index_shape)} for 'input' of shape "
                f"{tuple(input.shape)} (class dimension {0 if input.dim() == 1 else 1} removed), "
                f"got {tuple(target.shape)}"
            )
        class_indices(func, "target", target, classes, ignore_index)
    if weight is not None:
        check.class_weight(func, "weight", weight, classes, input)
    return label_smoothing


def effective_targets(input: torch.Tensor, target: torch.Tensor, weight, ignore_index: int,
                      label_smoothing: float, dtype: torch.dtype):
    """The matrix a_ij (shape of input, class dimension 1) and the divisor 'mean' uses.

    'mean' divides by sum_i w[y_i] over kept targets for class indices (torch's nll_loss divisor,
    with or without smoothing), and by the number of samples for probability targets (NaN when
    there is none, as in torch). Every tensor made here is on ``input``'s device.
    """
    classes = input.shape[1]
    shape = [1] * input.dim()
    shape[1] = classes
    class_weight = None if weight is None else weight.to(dtype).view(shape)
    if target.is_floating_point():
        a = target.to(dtype)
        if label_smoothing > 0:
            a = a * (1 - label_smoothing) + label_smoothing / classes
        if class_weight is not None:
            a = a * class_weight
        return a, probability_divisor(input, dtype)
    keep = target != ignore_index
    safe_target = torch.where(keep, target, torch.zeros_like(target)).long()
    onehot = torch.zeros(input.shape, dtype=dtype, device=input.device).scatter(1, safe_target.unsqueeze(1), 1.0)
    sample_weight = keep.to(dtype)
    if class_weight is not None:
        sample_weight = sample_weight * weight.to(dtype).index_select(0, safe_target.reshape(-1)).view(safe_target.shape)
    a = onehot * (sample_weight * (1 - label_smoothing)).unsqueeze(1)
    if label_smoothing > 0:
        smoothing = torch.full(shape, label_smoothing / classes, dtype=dtype, device=input.device)
        if class_weight is not None:
            smoothing = smoothing * class_weight
        a = a + smoothing * keep.to(dtype).unsqueeze(1)
    return a, sample_weight.sum()


def class_index_divisor(target: torch.Tensor, ignore_index: int, weight, dtype: torch.dtype) -> torch.Tensor:
    """torch's 'mean' divisor for class indices: sum of w[y_i] over the targets kept."""
    keep = target != ignore_index
    if weight is None:
        return keep.sum().to(dtype)
    safe_target = torch.where(keep, target, torch.zeros_like(target)).long()
    kept_weight = weight.to(dtype).index_select(0, safe_target.reshape(-1)).view(safe_target.shape)
    return torch.where(keep, kept_weight, torch.zeros_like(kept_weight)).sum()


def probability_divisor(input: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The number of samples (N times the extra dimensions); 0 for an empty input, so 'mean' is NaN."""
    classes = input.shape[1]
    count = input.numel() // classes if classes else 0
    return torch.tensor(float(count), dtype=dtype, device=input.device)


def batched(input: torch.Tensor, target: torch.Tensor):
    """torch's unbatched form, logits (C,) with a 0-d target, seen as a batch of one."""
    if input.dim() == 1:
        return input.unsqueeze(0), target.unsqueeze(0), True
    return input, target, False


def reduce(loss: torch.Tensor, reduction: str, divisor: torch.Tensor | None = None) -> torch.Tensor:
    """'none' keeps per-element losses; 'sum' adds them; 'mean' divides the sum by ``divisor``.

    With a divisor of 0 (every target ignored) the mean is NaN like torch, and its gradient is 0
    rather than 0 * inf = NaN, also like torch.
    """
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if divisor is None:
        return loss.mean()
    total = loss.sum()
    divisor = divisor.to(total.dtype)
    # != 0, not > 0: negative weights are allowed and make a negative divisor
    safe = torch.where(divisor != 0, divisor, torch.ones_like(divisor))
    return torch.where(divisor != 0, total / safe, torch.full_like(total, float("nan")))
