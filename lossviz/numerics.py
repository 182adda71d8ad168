"""The facts the notebooks teach, computed live rather than quoted.

- :func:`find_boundary` bisects over the representable values of a dtype for the first value
  where a property becomes true (sigmoid rounding to 1, a loss becoming exactly 0, ...).
- :func:`sigmoid_saturation` uses it to find where ``torch.sigmoid`` rounds to exactly 1 and 0.
- ``exact_*`` evaluate the losses with mpmath at 50 significant digits and round once.
- :func:`ulp_error` measures any implementation against those references in units in the last
  place of its own dtype.

A new torch release that changes one of these facts changes the printed value, and the notebooks'
nbval check fails instead of leaving a false sentence behind.
"""
from __future__ import annotations

import math
from typing import Callable

import mpmath
import torch

from . import _validate as check

_BITS = {torch.float16: torch.int16, torch.bfloat16: torch.int16, torch.float32: torch.int32, torch.float64: torch.int64}
_DIGITS = 50  # mpmath significant digits: far beyond float64's 17, so rounding once is exact


# --- representable values ----------------------------------------------------------------------

def _ordinal(value: float, dtype: torch.dtype) -> int:
    """Position of ``value`` (rounded to dtype) on the line of representable values; 0 is 0."""
    bits = int(torch.tensor([value], dtype=dtype).view(_BITS[dtype]).item())
    magnitude = bits & ((1 << (torch.finfo(dtype).bits - 1)) - 1)
    return magnitude if bits >= 0 else -magnitude


def _from_ordinal(ordinal: int, dtype: torch.dtype) -> torch.Tensor:
    width = torch.finfo(dtype).bits
    bits = ordinal if ordinal >= 0 else (-ordinal) - (1 << (width - 1))
    return torch.tensor([bits], dtype=_BITS[dtype]).view(dtype)


def find_boundary(predicate: Callable[[torch.Tensor], torch.Tensor], start: float, stop: float,
                  dtype: torch.dtype = torch.float32) -> float:
    """The first representable value of ``dtype``, walking from ``start`` to ``stop``, where
    ``predicate`` is true.

    ``predicate`` takes a one-element tensor of ``dtype`` and returns a boolean tensor or bool. It
    must be false at ``start``, true at ``stop`` and flip once in between (bisection over the
    representable values: at most 64 evaluations).

    Example::

        >>> find_boundary(lambda x: torch.sigmoid(x) == 1, 0.0, 100.0, torch.float32)
        16.635532379150390625
    """
    func = "find_boundary"
    check.dtype(func, "dtype", dtype)
    if not callable(predicate):
        raise TypeError(f"{func}(): argument 'predicate' must be callable, got {type(predicate).__name__}")
    start = check.finite_number(func, "start", start)
    stop = check.finite_number(func, "stop", stop)

    def holds(ordinal: int) -> bool:
        return bool(predicate(_from_ordinal(ordinal, dtype)))

    false_at, true_at = _ordinal(start, dtype), _ordinal(stop, dtype)
    if holds(false_at):
        raise ValueError(f"{func}(): 'predicate' must be false at 'start' ({start!r}), but it is true there")
    if not holds(true_at):
        raise ValueError(f"{func}(): 'predicate' must be true at 'stop' ({stop!r}), but it is false there")
    while abs(true_at - false_at) > 1:
        middle = (false_at + true_at) // 2
        if holds(middle):
            true_at = middle
        else:
            false_at = middle
    return float(_from_ordinal(true_at, dtype).item())


def next_toward(value: float, direction: float, dtype: torch.dtype = torch.float32) -> float:
    """The neighbouring representable value of ``dtype`` from ``value`` toward ``direction``."""
    step = 1 if direction > value else -1
    return float(_from_ordinal(_ordinal(value, dtype) + step, dtype).item())


def sigmoid_saturation(dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> tuple[float, float]:
    """Where ``torch.sigmoid`` in ``dtype`` rounds to exactly 1 and to exactly 0.

    Returns ``(upper, lower)``: ``upper`` is the smallest x > 0 with sigmoid(x) == 1 and ``lower``
    the x < 0 nearest to 0 with sigmoid(x) == 0 (every x beyond them saturates too). Found by
    bisection over the representable values of ``dtype`` on ``device``, then confirmed on the
    4096 values just before each boundary.

    Example::

        >>> sigmoid_saturation(torch.float16)
        (8.3203125, -17.34375)
    """
    func = "sigmoid_saturation"
    check.dtype(func, "dtype", dtype)
    largest = torch.finfo(dtype).max

    def saturates_to(level: float):
        return lambda x: torch.sigmoid(x.to(device)).item() == level

    upper = find_boundary(saturates_to(1.0), 0.0, largest, dtype)
    lower = find_boundary(saturates_to(0.0), 0.0, -largest, dtype)
    for boundary, level in ((upper, 1.0), (lower, 0.0)):
        ordinal = _ordinal(boundary, dtype)
        step = 1 if ordinal > 0 else -1
        window = torch.cat([_from_ordinal(ordinal - step * k, dtype) for k in range(1, 4097)])
        if bool((torch.sigmoid(window.to(device)) == level).any()):
            raise RuntimeError(f"{func}(): torch.sigmoid is not monotone near {boundary} in {dtype}; "
                               "the boundary found by bisection is not the first one")
    return upper, lower


# --- exact references (mpmath) -----------------------------------------------------------------

def _as_float64(func: str, name: str, value) -> torch.Tensor:
    check.tensor(func, name, value)
    return value.detach().to("cpu", torch.float64)


def _round(values: list, shape, split: bool):
    hi = torch.tensor([float(v) for v in values], dtype=torch.float64).reshape(shape)
    if not split:
        return hi
    lo = torch.tensor([float(v - mpmath.mpf(h)) if mpmath.isfinite(v) else 0.0
                       for v, h in zip(values, hi.flatten().tolist())], dtype=torch.float64).reshape(shape)
    return hi, lo


def _broadcast(func, tensors: dict):
    try:
        return torch.broadcast_tensors(*tensors.values())
    except RuntimeError:
        shapes = ", ".join(f"'{name}' {tuple(t.shape)}" for name, t in tensors.items())
        raise ValueError(f"{func}(): arguments must broadcast to one shape, got {shapes}") from None


def _log1p_exp_minus(magnitude: float, cache: dict):
    # log(1 + e^-|x|) depends on |x| alone: a grid symmetric about 0 pays for each value once.
    value = cache.get(magnitude)
    if value is None:
        value = cache[magnitude] = mpmath.log1p(mpmath.exp(-mpmath.mpf(magnitude)))
    return value


def exact_bce_with_logits(input: torch.Tensor, target: torch.Tensor, pos_weight: torch.Tensor | None = None,
                          *, split: bool = False):
    r"""Exact :math:`-[p_c y \log\sigma(x) + (1 - y)\log(1 - \sigma(x))]` per element, rounded once.

    Inputs are read exactly (every float is a rational number); the loss is evaluated with mpmath
    at 50 digits as :math:`(1-y)\max(x,0) + p_c y \max(-x,0) + (p_c y + 1 - y)\log(1 + e^{-|x|})`,
    every term non-negative, and rounded to float64. ``split=True`` returns ``(hi, lo)`` with
    ``hi + lo`` the value to about 100 bits, enough to measure float64 implementations too.
    About 1e5 elements a second.

    Example::

        >>> exact_bce_with_logits(torch.tensor([-20.0]), torch.tensor([0.0]))
        tensor([2.0612e-09], dtype=torch.float64)
    """
    func = "exact_bce_with_logits"
    tensors = {"input": _as_float64(func, "input", input), "target": _as_float64(func, "target", target)}
    if pos_weight is not None:
        tensors["pos_weight"] = _as_float64(func, "pos_weight", pos_weight)
    values = _broadcast(func, tensors)
    shape = values[0].shape
    columns = [v.flatten().tolist() for v in values]
    if len(columns) == 2:
        columns.append([1.0] * len(columns[0]))
    cache: dict = {}
    results = []
    with mpmath.workdps(_DIGITS):
        for x, y, weight in zip(*columns):
            if math.isnan(x) or math.isnan(y) or math.isnan(weight):
                results.append(mpmath.nan)
                continue
            x, y, weight = mpmath.mpf(x), mpmath.mpf(y), mpmath.mpf(weight)
            linear = (1 - y) * max(x, 0) + weight * y * max(-x, 0)
            results.append(linear + (weight * y + 1 - y) * _log1p_exp_minus(abs(x), cache))
    return _round(results, shape, split)


def exact_bce_with_logits_grad(input: torch.Tensor, target: torch.Tensor, pos_weight: torch.Tensor | None = None):
    r"""Exact :math:`\partial\ell/\partial x = (p_c y + 1 - y)\,\sigma(x) - p_c y` per element, in float64.

    Example::

        >>> exact_bce_with_logits_grad(torch.tensor([40.0]), torch.tensor([1.0]))
        tensor([-4.2484e-18], dtype=torch.float64)
    """
    func = "exact_bce_with_logits_grad"
    tensors = {"input": _as_float64(func, "input", input), "target": _as_float64(func, "target", target)}
    if pos_weight is not None:
        tensors["pos_weight"] = _as_float64(func, "pos_weight", pos_weight)
    values = _broadcast(func, tensors)
    columns = [v.flatten().tolist() for v in values]
    if len(columns) == 2:
        columns.append([1.0] * len(columns[0]))
    results = []
    with mpmath.workdps(_DIGITS):
        for x, y, weight in zip(*columns):
            x, y, weight = mpmath.mpf(x), mpmath.mpf(y), mpmath.mpf(weight)
            sigmoid = 1 / (1 + mpmath.exp(-x))
            # (p y + 1 - y) sigma - p y = (1 - y) sigma - p y (1 - sigma); 1 - sigma = sigma(-x) exactly
            results.append((1 - y) * sigmoid - weight * y / (1 + mpmath.exp(x)))
    return _round(results, values[0].shape, False)


def exact_cross_entropy(input: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0, *, split: bool = False):
    r"""Exact per-sample cross-entropy :math:`\sum_j t_j (\mathrm{LSE}(z) - z_j)`, rounded once.

    Args:
        input: logits ``(N, C)`` or ``(C,)``.
        target: class indices ``(N,)`` / ``()`` or class probabilities shaped like ``input``.
        label_smoothing: torch's convention, :math:`t = (1 - \epsilon)\,t + \epsilon / C`.

    Returns float64 ``(N,)`` (or ``()``), or ``(hi, lo)`` with ``split=True``.

    Example::

        >>> exact_cross_entropy(torch.tensor([[17.0, 0.0, -1.0]]), torch.tensor([0]))
        tensor([5.6986e-08], dtype=torch.float64)
    """
    func = "exact_cross_entropy"
    check.tensor(func, "input", input)
    check.tensor(func, "target", target, floating=False)
    epsilon = check.fraction(func, "label_smoothing", label_smoothing)
    if input.dim() not in (1, 2):
        raise ValueError(f"{func}(): argument 'input' must have shape (N, C) or (C,), got {tuple(input.shape)}")
    logits = input.detach().to("cpu", torch.float64).reshape(-1, input.shape[-1])
    classes = logits.shape[1]
    if target.is_floating_point():
        check.same_shape(func, "target", target, "input", input)
        probabilities = target.detach().to("cpu", torch.float64).reshape(-1, classes)
    else:
        expected = input.shape[:-1]
        if tuple(target.shape) != tuple(expected):
            raise ValueError(f"{func}(): argument 'target' must have shape {tuple(expected)} for class indices, "
                             f"got {tuple(target.shape)}")
        indices = target.reshape(-1)
        if indices.numel() and (bool((indices < 0).any()) or bool((indices >= classes).any())):
            raise ValueError(f"{func}(): argument 'target' must hold class indices in [0, {classes - 1}]")
        probabilities = torch.nn.functional.one_hot(indices, classes).to(torch.float64)
    results = []
    with mpmath.workdps(_DIGITS):
        for row, weights in zip(logits.tolist(), probabilities.tolist()):
            z = [mpmath.mpf(v) for v in row]
            t = [mpmath.mpf(w) * (1 - mpmath.mpf(epsilon)) + mpmath.mpf(epsilon) / classes for w in weights]
            top = max(z)
            log_norm = top + mpmath.log(mpmath.fsum(mpmath.exp(v - top) for v in z))
            results.append(mpmath.fsum(w * (log_norm - v) for w, v in zip(t, z) if w != 0))
    return _round(results, input.shape[:-1], split)


# --- error in ULPs -------------------------------------------------------------------------------

def ulp(values: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Size of one unit in the last place of ``dtype`` at each value (float64 result).

    The spacing of ``dtype``'s representable numbers in the binade of ``|value|``; subnormal
    spacing near 0. Example: ``ulp(torch.tensor([1.0]), torch.float32)`` is 2**-23.
    """
    func = "ulp"
    check.tensor(func, "values", values)
    check.dtype(func, "dtype", dtype)
    info = torch.finfo(dtype)
    magnitude = values.detach().to(torch.float64).abs()
    _, exponent = torch.frexp(magnitude)
    binade = torch.ldexp(torch.ones_like(magnitude), exponent - 1)  # 2^floor(log2 |v|)
    smallest = info.tiny * info.eps
    spacing = torch.where(magnitude > 0, binade * info.eps, torch.full_like(magnitude, smallest))
    return spacing.clamp_min(smallest)


def ulp_error(approx: torch.Tensor, exact) -> torch.Tensor:
    """Error of ``approx`` in ULPs of ``approx.dtype``, against ``exact`` (float64, or ``(hi, lo)``).

    NaN, or an infinity where the exact value is finite, counts as ``inf`` ULPs; an infinity that
    matches an infinite exact value counts 0. Returns float64 of ``approx``'s shape.

    Example::

        >>> x = torch.tensor([-20.0]); y = torch.tensor([0.0])
        >>> ulp_error(torch.nn.functional.binary_cross_entropy_with_logits(x, y, reduction="none"),
        ...           exact_bce_with_logits(x, y))
        tensor([18145911.], dtype=torch.float64)
    """
    func = "ulp_error"
    check.tensor(func, "approx", approx)
    hi, lo = exact if isinstance(exact, tuple) else (exact, None)
    check.tensor(func, "exact", hi)
    if hi.dtype != torch.float64:
        raise TypeError(f"{func}(): argument 'exact' must be float64 (from an exact_* function), got {hi.dtype}")
    if hi.shape != approx.shape:
        raise ValueError(f"{func}(): argument 'exact' must have the shape of 'approx' {tuple(approx.shape)}, "
                         f"got {tuple(hi.shape)}")
    value = approx.detach().to(torch.float64)
    difference = value - hi
    if lo is not None:
        difference = difference - lo
    finite = torch.isfinite(value) & torch.isfinite(hi)
    errors = torch.where(finite, difference.abs() / ulp(hi, approx.dtype), torch.full_like(value, math.inf))
    # a non-finite exact value matched exactly (inf for inf, NaN for NaN input) is no error
    matched = ~torch.isfinite(hi) & ((value == hi) | (torch.isnan(value) & torch.isnan(hi)))
    return torch.where(matched, torch.zeros_like(errors), errors)
