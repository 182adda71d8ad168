"""Argument checks shared by every public function.

One place says exactly what was wrong: each error names the function, the argument, what was
expected and what came. The policy, the same for every loss:

- Reject only what is certainly a mistake: a target outside [0, 1] in binary cross-entropy, a
  probability outside [0, 1] where probabilities are expected, a class index outside [0, C), a
  NaN or infinite weight or pos_weight, a shape or dtype that does not fit, an unknown reduction.
- Accept what torch defines and someone may mean: negative weights and pos_weights (signed event
  weights, as in physics), uint8 and int32 class indices, empty inputs.
- NaN in the data (logits, probabilities, targets) is data, not an error: range checks ignore it
  and it propagates into the loss.

The errors are :mod:`lossviz.errors` classes: ValueError / TypeError that are also RuntimeError,
as torch raises, so code written for torch's errors still catches them.

Shapes and dtypes are always checked. Checks that read values run only where there are values to
read: not on ``meta`` or fake tensors and not inside ``torch.func`` transforms (``grad``, ``vmap``,
``jvp``), where reading a value is impossible or would break the transform.
"""
from __future__ import annotations

import math
from numbers import Real

import torch

from .errors import LossvizIndexError, LossvizTypeError, LossvizValueError

REDUCTIONS = ("none", "mean", "sum")
FLOATING = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
POSITIVE_PROBABILITY = "probabilities of the positive class"


def _is_fake(value: torch.Tensor) -> bool:
    try:
        from torch._subclasses.fake_tensor import is_fake
    except ImportError:  # pragma: no cover - older torch
        return False
    return is_fake(value)


def _fake_mode_active() -> bool:
    try:
        return torch._C._get_dispatch_mode(torch._C._TorchDispatchModeKey.FAKE) is not None
    except AttributeError:  # pragma: no cover - older torch
        return False


def has_values(*values) -> bool:
    """True when every tensor given holds readable numbers: not meta, not fake, not wrapped by a
    ``torch.func`` transform (and no FakeTensorMode is active)."""
    if _fake_mode_active():
        return False
    for value in values:
        if not isinstance(value, torch.Tensor):
            continue
        if value.device.type == "meta" or torch._C._functorch.is_functorch_wrapped_tensor(value):
            return False
        # fake tensors are a Python subclass: a plain tensor needs no further look (with is_fake
        # for every tensor, has_values of three took 6.7 us, now 2.0; a loss asks several times)
        if type(value) is not torch.Tensor and _is_fake(value):
            return False
    return True


def _describe(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return f"{type(value).__name__} {value!r}" if isinstance(value, (int, float, str)) else type(value).__name__


def _range_text(values: torch.Tensor) -> str:
    finite = values[~torch.isnan(values)] if values.is_floating_point() else values
    if finite.numel() == 0:
        return "only NaN"
    lo, hi = torch.aminmax(finite)
    return f"values from {lo.item():.6g} to {hi.item():.6g}"


def tensor(func: str, name: str, value, *, floating: bool = True) -> torch.Tensor:
    """The argument must be a tensor; with ``floating`` its dtype must be a floating one."""
    if not isinstance(value, torch.Tensor):
        raise LossvizTypeError(f"{func}(): argument '{name}' must be a torch.Tensor, got {_describe(value)}")
    if floating and value.dtype not in FLOATING:
        raise LossvizTypeError(
            f"{func}(): argument '{name}' must be a floating-point tensor "
            f"(float16, bfloat16, float32 or float64), got dtype {value.dtype}"
        )
    return value


def same_shape(func: str, name: str, value: torch.Tensor, reference_name: str, reference: torch.Tensor) -> None:
    if value.shape != reference.shape:
        raise LossvizValueError(
            f"{func}(): argument '{name}' must have the shape of '{reference_name}' "
            f"{tuple(reference.shape)}, got {tuple(value.shape)}"
        )


def same_dtype(func: str, name: str, value: torch.Tensor, reference_name: str, reference: torch.Tensor) -> None:
    if value.dtype != reference.dtype:
        raise LossvizTypeError(
            f"{func}(): argument '{name}' must have the dtype of '{reference_name}' ({reference.dtype}), "
            f"got {value.dtype}; convert it with .to({reference_name}.dtype)"
        )


def same_device(func: str, name: str, value: torch.Tensor, reference_name: str, reference: torch.Tensor) -> None:
    if value.device != reference.device:
        raise LossvizValueError(
            f"{func}(): argument '{name}' must be on the device of '{reference_name}' ({reference.device}), "
            f"got {value.device}; move it with .to({reference_name}.device)"
        )


def unit_interval(func: str, name: str, value: torch.Tensor, what: str, *, scratch=None) -> bool:
    """Values must lie in [0, 1]; NaN passes (it is data and propagates).

    With ``scratch`` (a tensor of ``value``'s shape and dtype, overwritten) the one pass goes over
    y - y*y instead, which is 0 at 0 and 1, positive between them and negative outside (or NaN):
    the same check, and it also tells whether every value is exactly 0 or 1 (returned; False without
    ``scratch``)."""
    if value.numel() == 0 or not has_values(value):
        return False
    if scratch is None:
        low, high = torch.aminmax(value)  # one pass; NaN anywhere makes both NaN
        if not (bool(low < 0) or bool(high > 1) or bool(torch.isnan(low))):
            return False
    else:
        with torch.no_grad():  # targets that require grad (learned soft labels): out= refuses autograd
            low, high = torch.aminmax(torch.addcmul(value, value, value, value=-1, out=scratch))
        if bool(low >= 0):  # False for NaN
            return bool(high == 0)
    if bool(((value < 0) | (value > 1)).any()):
        raise LossvizValueError(
            f"{func}(): argument '{name}' holds {what} and must lie in [0, 1], got {_range_text(value)}"
        )
    return False


def reduction_name(func: str, value) -> str:
    if value not in REDUCTIONS:
        raise LossvizValueError(f"{func}(): argument 'reduction' must be one of 'none', 'mean', 'sum', got {value!r}")
    return value


def finite(func: str, name: str, value: torch.Tensor) -> None:
    """Weights must be finite: a NaN or infinite weight is never meant and would poison the loss."""
    if value.numel() == 0 or not value.is_floating_point() or not has_values(value):
        return
    if not bool(torch.isfinite(value).all()):
        bad = value[~torch.isfinite(value)]
        raise LossvizValueError(
            f"{func}(): argument '{name}' must hold finite numbers, got {bad.numel()} non-finite "
            f"value(s) such as {bad[0].item()}"
        )


def class_weight(func: str, name: str, value, num_classes: int, reference: torch.Tensor) -> torch.Tensor:
    """A 1-D tensor of ``num_classes`` finite weights (for cross_entropy's ``weight``)."""
    tensor(func, name, value)
    same_dtype(func, name, value, "input", reference)
    same_device(func, name, value, "input", reference)
    if value.dim() != 1 or value.numel() != num_classes:
        raise LossvizValueError(
            f"{func}(): argument '{name}' must be a 1-D tensor with one weight per class "
            f"({num_classes} classes), got shape {tuple(value.shape)}"
        )
    finite(func, name, value)
    return value


def non_negative(func: str, name: str, value: torch.Tensor) -> None:
    if has_values(value) and bool((value < 0).any()):
        raise LossvizValueError(f"{func}(): argument '{name}' must be non-negative, got {_range_text(value)}")


def broadcastable_weight(func: str, name: str, value, reference: torch.Tensor, *, last_dim_only: bool) -> torch.Tensor:
    """A finite weight that broadcasts to ``reference`` without enlarging it (torch's rule: the loss
    keeps the shape of 'input'); a single number always fits. ``last_dim_only`` (pos_weight): a
    1-D weight holds one weight per class along the last dimension (length C, or 1)."""
    tensor(func, name, value)
    same_dtype(func, name, value, "input", reference)
    same_device(func, name, value, "input", reference)
    if value.numel() != 1:
        classes = reference.shape[-1] if reference.dim() else 1
        if last_dim_only and value.dim() <= 1 and value.numel() != classes:
            raise LossvizValueError(
                f"{func}(): argument '{name}' must hold one weight per class along the last dimension "
                f"of 'input' (length {classes}, or 1), got shape {tuple(value.shape)}"
            )
        if value.shape == reference.shape[reference.dim() - value.dim():]:
            shape = reference.shape  # the usual case, without torch.broadcast_shapes (17 -> 9 us a check)
        else:
            try:
                shape = torch.broadcast_shapes(value.shape, reference.shape)
            except RuntimeError:
                shape = None
        if shape != reference.shape:
            raise LossvizValueError(
                f"{func}(): argument '{name}' must broadcast to the shape of 'input' {tuple(reference.shape)}, "
                f"got {tuple(value.shape)}"
            )
    finite(func, name, value)
    return value


def fraction(func: str, name: str, value) -> float:
    """A Python number in [0, 1] (label_smoothing)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise LossvizTypeError(f"{func}(): argument '{name}' must be a float in [0, 1], got {_describe(value)}")
    if not (0.0 <= float(value) <= 1.0):
        raise LossvizValueError(f"{func}(): argument '{name}' must lie in [0, 1], got {value!r}")
    return float(value)


def integer(func: str, name: str, value, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LossvizTypeError(f"{func}(): argument '{name}' must be an int, got {_describe(value)}")
    if minimum is not None and value < minimum:
        raise LossvizValueError(f"{func}(): argument '{name}' must be at least {minimum}, got {value}")
    return value


def dtype(func: str, name: str, value) -> torch.dtype:
    if value not in FLOATING:
        raise LossvizTypeError(
            f"{func}(): argument '{name}' must be one of torch.float16, torch.bfloat16, torch.float32, "
            f"torch.float64, got {value!r}"
        )
    return value


def finite_number(func: str, name: str, value, *, low: float | None = None, high: float | None = None) -> float:
    """A real Python number (or 0-d tensor) that is finite and, if given, inside [low, high]."""
    if isinstance(value, torch.Tensor) and value.dim() == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real):
        raise LossvizTypeError(f"{func}(): argument '{name}' must be a real number, got {_describe(value)}")
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        raise LossvizValueError(f"{func}(): argument '{name}' must be a finite number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise LossvizValueError(f"{func}(): argument '{name}' must lie in [{low:g}, {high:g}], got {value:g}")
    return value


def class_indices(func: str, name: str, target: torch.Tensor, num_classes: int, ignore_index: int | None) -> None:
    """An integer tensor of class indices in [0, num_classes), ``ignore_index`` aside."""
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        raise LossvizTypeError(
            f"{func}(): argument '{name}' holds class indices and must be an integer tensor (torch.long), "
            f"got dtype {target.dtype}; for class probabilities pass a float tensor with the shape of 'input'"
        )
    if num_classes == 0 and target.numel():
        raise LossvizIndexError(
            f"{func}(): 'input' has no classes (class dimension of size 0), so no class index in "
            f"argument '{name}' can be valid; got {target.numel()} target(s)"
        )
    if target.numel() == 0 or not has_values(target):
        return
    low, high = torch.aminmax(target)  # one pass settles the usual case
    if int(low) >= 0 and int(high) < num_classes:
        return
    outside = (target < 0) | (target >= num_classes)
    if ignore_index is not None:
        outside &= target != ignore_index
    if bool(outside.any()):
        kept = target if ignore_index is None else target[target != ignore_index]
        lo, hi = torch.aminmax(kept)
        ignored = "" if ignore_index is None else f" (or ignore_index={ignore_index})"
        raise LossvizIndexError(
            f"{func}(): argument '{name}' must hold class indices in [0, {num_classes - 1}]{ignored}, "
            f"got values from {lo.item()} to {hi.item()}"
        )


def no_deprecated(func: str, deprecated: dict) -> None:
    """size_average and reduce were deprecated in torch long ago; lossviz takes 'reduction' only."""
    names = sorted(n for n, v in deprecated.items() if not (n in ("size_average", "reduce") and v is None))
    if not names:
        return
    known = [n for n in names if n in ("size_average", "reduce")]
    if known:
        raise LossvizTypeError(
            f"{func}(): argument(s) {', '.join(repr(n) for n in known)} are deprecated in torch and not "
            f"supported here; use reduction='mean', 'sum' or 'none' instead"
        )
    raise LossvizTypeError(f"{func}() got an unexpected keyword argument {names[0]!r}")


def input_target(func: str, input, target, reduction, weight=None, *, target_range: str | None = None) -> None:
    """The checks every element-wise loss shares: two floating tensors of one shape, dtype and device,
    a known reduction, an optional finite weight that broadcasts to ``input``, and (``target_range``)
    targets in [0, 1]."""
    tensor(func, "input", input)
    tensor(func, "target", target)
    same_shape(func, "target", target, "input", input)
    same_dtype(func, "target", target, "input", input)
    same_device(func, "target", target, "input", input)
    if target_range is not None:
        unit_interval(func, "target", target, target_range)
    reduction_name(func, reduction)
    if weight is not None:
        broadcastable_weight(func, "weight", weight, input, last_dim_only=False)
