"""Argument checks shared by every public function.

One place says exactly what was wrong: each error names the function, the argument, what was
expected and what came. Stricter than torch where torch silently computes nonsense (a target of 2
in binary cross-entropy, a negative pos_weight). NaN is data, not an error: range checks ignore it.
"""
from __future__ import annotations

import math
from numbers import Real

import torch

REDUCTIONS = ("none", "mean", "sum")
FLOATING = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
POSITIVE_PROBABILITY = "probabilities of the positive class"


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
        raise TypeError(f"{func}(): argument '{name}' must be a torch.Tensor, got {_describe(value)}")
    if floating and value.dtype not in FLOATING:
        raise TypeError(
            f"{func}(): argument '{name}' must be a floating-point tensor "
            f"(float16, bfloat16, float32 or float64), got dtype {value.dtype}"
        )
    return value


def same_shape(func: str, name: str, value: torch.Tensor, reference_name: str, reference: torch.Tensor) -> None:
    if value.shape != reference.shape:
        raise ValueError(
            f"{func}(): argument '{name}' must have the shape of '{reference_name}' "
            f"{tuple(reference.shape)}, got {tuple(value.shape)}"
        )


def same_dtype(func: str, name: str, value: torch.Tensor, reference_name: str, reference: torch.Tensor) -> None:
    if value.dtype != reference.dtype:
        raise TypeError(
            f"{func}(): argument '{name}' must have the dtype of '{reference_name}' ({reference.dtype}), "
            f"got {value.dtype}; convert it with .to({reference_name}.dtype)"
        )


def unit_interval(func: str, name: str, value: torch.Tensor, what: str) -> None:
    """Values must lie in [0, 1]; NaN passes (it is data and propagates)."""
    if value.numel() == 0:
        return
    low, high = torch.aminmax(value)  # one pass; NaN anywhere makes both NaN
    if not (bool(low < 0) or bool(high > 1) or bool(torch.isnan(low))):
        return
    if bool(((value < 0) | (value > 1)).any()):
        raise ValueError(
            f"{func}(): argument '{name}' holds {what} and must lie in [0, 1], got {_range_text(value)}"
        )


def reduction_name(func: str, value) -> str:
    if value not in REDUCTIONS:
        raise ValueError(f"{func}(): argument 'reduction' must be one of 'none', 'mean', 'sum', got {value!r}")
    return value


def class_weight(func: str, name: str, value, num_classes: int, reference: torch.Tensor) -> torch.Tensor:
    """A 1-D tensor of ``num_classes`` non-negative weights (for cross_entropy's ``weight``)."""
    tensor(func, name, value)
    same_dtype(func, name, value, "input", reference)
    if value.dim() != 1 or value.numel() != num_classes:
        raise ValueError(
            f"{func}(): argument '{name}' must be a 1-D tensor with one weight per class "
            f"({num_classes} classes), got shape {tuple(value.shape)}"
        )
    non_negative(func, name, value)
    return value


def non_negative(func: str, name: str, value: torch.Tensor) -> None:
    if bool((value < 0).any()):
        raise ValueError(f"{func}(): argument '{name}' must be non-negative, got {_range_text(value)}")


def broadcastable_weight(func: str, name: str, value, reference: torch.Tensor, *, last_dim_only: bool) -> torch.Tensor:
    """A weight that broadcasts to ``reference``; ``last_dim_only`` for pos_weight (one per class)."""
    tensor(func, name, value)
    same_dtype(func, name, value, "input", reference)
    if last_dim_only:
        classes = reference.shape[-1] if reference.dim() else 1
        if value.dim() > 1 or value.numel() not in (1, classes):
            raise ValueError(
                f"{func}(): argument '{name}' must hold one weight per class along the last dimension "
                f"of 'input' (length {classes}, or 1), got shape {tuple(value.shape)}"
            )
    else:
        try:
            shape = torch.broadcast_shapes(value.shape, reference.shape)
        except RuntimeError:
            shape = None
        if shape != reference.shape:
            raise ValueError(
                f"{func}(): argument '{name}' must broadcast to the shape of 'input' {tuple(reference.shape)}, "
                f"got {tuple(value.shape)}"
            )
    non_negative(func, name, value)
    return value


def fraction(func: str, name: str, value) -> float:
    """A Python number in [0, 1] (label_smoothing)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{func}(): argument '{name}' must be a float in [0, 1], got {_describe(value)}")
    if not (0.0 <= float(value) <= 1.0):
        raise ValueError(f"{func}(): argument '{name}' must lie in [0, 1], got {value!r}")
    return float(value)


def integer(func: str, name: str, value, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{func}(): argument '{name}' must be an int, got {_describe(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{func}(): argument '{name}' must be at least {minimum}, got {value}")
    return value


def dtype(func: str, name: str, value) -> torch.dtype:
    if value not in FLOATING:
        raise TypeError(
            f"{func}(): argument '{name}' must be one of torch.float16, torch.bfloat16, torch.float32, "
            f"torch.float64, got {value!r}"
        )
    return value


def finite_number(func: str, name: str, value, *, low: float | None = None, high: float | None = None) -> float:
    """A real Python number (or 0-d tensor) that is finite and, if given, inside [low, high]."""
    if isinstance(value, torch.Tensor) and value.dim() == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{func}(): argument '{name}' must be a real number, got {_describe(value)}")
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{func}(): argument '{name}' must be a finite number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{func}(): argument '{name}' must lie in [{low:g}, {high:g}], got {value:g}")
    return value


def input_target(func: str, input, target, reduction, weight=None, *, target_range: str | None = None) -> None:
    """The checks every element-wise loss shares: two floating tensors of one shape and dtype, a known
    reduction, an optional weight that broadcasts to ``input``, and (``target_range``) targets in [0, 1]."""
    tensor(func, "input", input)
    tensor(func, "target", target)
    same_shape(func, "target", target, "input", input)
    same_dtype(func, "target", target, "input", input)
    if target_range is not None:
        unit_interval(func, "target", target, target_range)
    reduction_name(func, reduction)
    if weight is not None:
        broadcastable_weight(func, "weight", weight, input, last_dim_only=False)
