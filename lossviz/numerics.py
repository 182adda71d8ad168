"""The facts the notebooks teach, computed live rather than quoted.

- :func:`find_boundary` bisects over the representable values of a dtype for the first value
  where a property becomes true (sigmoid rounding to 1, a loss becoming exactly 0, ...).
- :func:`sigmoid_saturation` uses it to find where ``torch.sigmoid`` rounds to exactly 1 and 0.
- ``exact_*`` evaluate the losses exactly (rational parts exactly, logarithms with mpmath at as
  many bits as the inputs need) and round once.
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
        16.63553237915039
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
    func = "next_toward"
    check.dtype(func, "dtype", dtype)
    value = check.finite_number(func, "value", value)
    direction = check.finite_number(func, "direction", direction)
    if direction == value:
        raise ValueError(f"{func}(): argument 'direction' must differ from 'value', got {direction!r} for both")
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
#
# Every float is a dyadic rational, so sums, differences and products of inputs are computed
# exactly (mpmath's exact=True: the precision they need follows from the exponents of the inputs,
# up to ~2100 bits for 1e300 against 1e-300). Only the transcendental part (log1p, exp) is rounded.
# It is evaluated at a working precision that starts at about 150 bits and grows until the error
# bound of the final sum is below 2^-120 of its value (Ziv's strategy): a sum whose terms cancel
# gets the extra bits the cancellation costs. Then the value is rounded once to float64.

_TARGET_BITS = 120  # relative accuracy of every exact value before it is rounded
_START_BITS = 150
_MAX_BITS = 1 << 17


def _as_float64(func: str, name: str, value) -> torch.Tensor:
    check.tensor(func, name, value)
    return value.detach().to("cpu", torch.float64)


def _to_float(value) -> float:
    """``value`` (an mpf) rounded once to the nearest float64, ties to even, subnormals included.

    mpmath's own ``float()`` rounds to 53 bits and then again into the subnormal range.
    """
    if not mpmath.isfinite(value):
        return float(value)
    sign, mantissa, exponent, bits = value._mpf_
    if not mantissa or exponent + bits <= -1075:  # below half the smallest subnormal: 0
        return -0.0 if sign else 0.0
    ulp_exponent = max(exponent + bits - 53, -1074)
    if exponent >= ulp_exponent:
        units = mantissa << (exponent - ulp_exponent)
    else:
        shift = ulp_exponent - exponent
        units, rest = mantissa >> shift, mantissa & ((1 << shift) - 1)
        half = 1 << (shift - 1)
        if rest > half or (rest == half and units & 1):
            units += 1
    try:
        magnitude = math.ldexp(units, ulp_exponent)
    except OverflowError:
        magnitude = math.inf
    return -magnitude if sign else magnitude


def _round(values: list, shape, split: bool):
    hi = torch.tensor([_to_float(v) for v in values], dtype=torch.float64).reshape(shape)
    if not split:
        return hi
    with mpmath.workprec(_TARGET_BITS + 64):
        lo = [_to_float(_number(_exact_sub(v._mpf_, _exact_float(h)))) if mpmath.isfinite(v) and math.isfinite(h) else 0.0
              for v, h in zip(values, hi.flatten().tolist())]
    return hi, torch.tensor(lo, dtype=torch.float64).reshape(shape)


def _broadcast(func, tensors: dict):
    try:
        return torch.broadcast_tensors(*tensors.values())
    except RuntimeError:
        shapes = ", ".join(f"'{name}' {tuple(t.shape)}" for name, t in tensors.items())
        raise ValueError(f"{func}(): arguments must broadcast to one shape, got {shapes}") from None


def _settle(evaluate):
    """``evaluate()`` -> ``(value, error_bound)`` at mpmath's current precision, repeated with more
    bits until the bound is below 2^-120 of the value; returns the value.

    ``evaluate`` must only be called where the exact value is not 0 (a transcendental term that
    can cancel only a rational one exactly when its coefficient is 0: callers treat that case).
    """
    precision = _START_BITS
    while True:
        with mpmath.workprec(precision):
            value, bound = evaluate()
            if value and bound <= abs(value) * mpmath.ldexp(1, -_TARGET_BITS):
                return value
            # the bits the cancellation costs, plus a margin; at least double when all cancelled
            lost = int(mpmath.log(bound / abs(value), 2)) + _TARGET_BITS + 16 if value else precision
        precision += max(lost, 32)
        if precision > _MAX_BITS:
            raise ArithmeticError(f"no exact value within {_MAX_BITS} bits: the terms cancel completely")


# Exact arithmetic on mpmath's raw (sign, mantissa, exponent, bits) values: precision 0 means no
# rounding, and skipping mpmath's number objects makes the exact part cheap.
_exact_float = mpmath.libmp.from_float
_exact_add, _exact_sub, _exact_mul = mpmath.libmp.mpf_add, mpmath.libmp.mpf_sub, mpmath.libmp.mpf_mul
_ONE, _ZERO = mpmath.libmp.fone, mpmath.libmp.fzero


def _number(raw):
    return mpmath.mp.make_mpf(raw)


def _bce_terms(x: float, y: float, weight: float):
    """``(linear, coefficient)`` of the loss ``linear + coefficient * log1p(e^-|x|)``, both exact."""
    y_ = _exact_float(y)
    one_minus_y = _exact_sub(_ONE, y_)
    weighted_y = _exact_mul(_exact_float(weight), y_)
    linear = _exact_mul(one_minus_y, _exact_float(x)) if x > 0 else _exact_mul(weighted_y, _exact_float(-x))
    return _number(linear), _number(_exact_add(weighted_y, one_minus_y))


def _exact_bce_value(x: float, y: float, weight: float, softplus):
    if math.isnan(x) or math.isnan(y) or math.isnan(weight):
        return mpmath.nan
    if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(weight)):
        # limits of IEEE arithmetic, as a float64 implementation would meet them
        with mpmath.workprec(_START_BITS):
            x, y, weight = mpmath.mpf(x), mpmath.mpf(y), mpmath.mpf(weight)
            linear = (1 - y) * max(x, 0) + weight * y * max(-x, 0)
            return linear + (weight * y + 1 - y) * mpmath.log1p(mpmath.exp(-abs(x)))
    linear, coefficient = _bce_terms(x, y, weight)
    if not coefficient:
        return linear  # exact: no transcendental term
    if (linear >= 0) == (coefficient >= 0) or not linear:
        # terms of one sign (0 <= y <= 1, weights >= 0: the usual case) cannot cancel
        with mpmath.workprec(_START_BITS):
            return linear + coefficient * softplus(abs(x))

    def evaluate():
        scaled = coefficient * softplus(abs(x))
        total = linear + scaled
        return total, abs(scaled) * mpmath.ldexp(1, 4 - mpmath.mp.prec) + abs(total) * mpmath.ldexp(1, -mpmath.mp.prec)

    return _settle(evaluate)


def _softplus_memo():
    """log1p(e^-m) at the current precision, remembered: it depends on |x| alone, so a grid
    symmetric about 0 pays for each value once."""
    memo: dict = {}

    def softplus(magnitude: float):
        key = (magnitude, mpmath.mp.prec)
        value = memo.get(key)
        if value is None:
            value = memo[key] = mpmath.log1p(mpmath.exp(-mpmath.mpf(magnitude)))
        return value

    return softplus


def exact_bce_with_logits(input: torch.Tensor, target: torch.Tensor, pos_weight: torch.Tensor | None = None,
                          *, split: bool = False):
    r"""Exact :math:`-[p_c y \log\sigma(x) + (1 - y)\log(1 - \sigma(x))]` per element, rounded once.

    Inputs are read exactly (every float is a rational number) and the loss is evaluated as
    :math:`(1-y)\max(x,0) + p_c y \max(-x,0) + (p_c y + 1 - y)\log(1 + e^{-|x|})`: the rational
    part exactly, the logarithm with mpmath at whatever precision keeps the result within
    :math:`2^{-120}` relative of the true value, for any finite float64 inputs (huge logits, tiny
    targets, negative weights whose terms cancel). Then it is rounded once to float64 (subnormals
    included). ``split=True`` returns ``(hi, lo)`` with ``hi + lo`` the value to about 106 bits,
    enough to measure float64 implementations too. NaN in any input gives NaN. About 1e4 elements
    a second.

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
    softplus = _softplus_memo()
    memo: dict = {}  # grids repeat (x, y, weight) triples
    results = []
    for triple in zip(*columns):
        value = memo.get(triple)
        if value is None:
            value = memo[triple] = _exact_bce_value(*triple, softplus)
        results.append(value)
    return _round(results, shape, split)


def _exact_bce_grad_value(x: float, y: float, weight: float):
    # (p y + 1 - y) sigma(x) - p y = (1 - y) sigma(x) - p y sigma(-x): two terms that may cancel
    if math.isnan(x) or math.isnan(y) or math.isnan(weight):
        return mpmath.nan
    with mpmath.workprec(_START_BITS):
        x_, y_, weight_ = mpmath.mpf(x), mpmath.mpf(y), mpmath.mpf(weight)
        if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(weight)):
            return (1 - y_) / (1 + mpmath.exp(-x_)) - weight_ * y_ / (1 + mpmath.exp(x_))
        rising = _exact_sub(_ONE, _exact_float(y))
        falling = _exact_mul(_exact_float(weight), _exact_float(y))
        if x == 0:  # sigma(0) = 1/2 exactly
            return mpmath.ldexp(_number(_exact_sub(rising, falling)), -1)
        if rising == _ZERO and falling == _ZERO:
            return mpmath.mpf(0)
        rising, falling = _number(rising), _number(falling)

    def evaluate():
        up = rising / (1 + mpmath.exp(-x_))
        down = falling / (1 + mpmath.exp(x_))
        total = up - down
        bound = (abs(up) + abs(down)) * mpmath.ldexp(1, 4 - mpmath.mp.prec) + abs(total) * mpmath.ldexp(1, -mpmath.mp.prec)
        return total, bound

    return _settle(evaluate)


def exact_bce_with_logits_grad(input: torch.Tensor, target: torch.Tensor, pos_weight: torch.Tensor | None = None):
    r"""Exact :math:`\partial\ell/\partial x = (p_c y + 1 - y)\,\sigma(x) - p_c y` per element, in float64.

    Evaluated as :math:`(1 - y)\sigma(x) - p_c y\,\sigma(-x)` with as many bits as the cancellation
    of the two terms needs (y = 0.5, x = 1e-300 included), then rounded once.

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
    results = [_exact_bce_grad_value(*triple) for triple in zip(*columns)]
    return _round(results, values[0].shape, False)


def _exact_cross_entropy_row(row: list, weights: list, epsilon: float):
    r"""One sample's loss. With :math:`T_j = C(1-\epsilon)t_j + \epsilon` (exact) and
    :math:`d_j = \max z - z_j \ge 0` (exact), :math:`C\ell = \sum_j T_j d_j + (\sum_j T_j)\,
    \mathrm{log1p}(\sum_{k \ne k^*} e^{-d_k})`: a rational part and one logarithm."""
    if any(math.isnan(v) for v in row) or any(math.isnan(w) for w in weights):
        return mpmath.nan
    classes = len(row)
    if not all(math.isfinite(v) for v in row) or not all(math.isfinite(w) for w in weights):
        with mpmath.workprec(_START_BITS):  # IEEE limits, as a float64 implementation meets them
            z = [mpmath.mpf(v) for v in row]
            t = [mpmath.mpf(w) * (1 - mpmath.mpf(epsilon)) + mpmath.mpf(epsilon) / classes for w in weights]
            top = max(z)
            log_norm = top + mpmath.log(mpmath.fsum(mpmath.exp(v - top) for v in z))
            return mpmath.fsum(w * (log_norm - v) for w, v in zip(t, z) if w != 0)
    epsilon_ = _exact_float(epsilon)
    keep = _exact_mul(mpmath.libmp.from_int(classes), _exact_sub(_ONE, epsilon_))
    top_index = max(range(classes), key=row.__getitem__)
    top = _exact_float(row[top_index])
    linear = total_weight = _ZERO
    gaps = []
    for w, v in zip(weights, row):
        gap = _exact_sub(top, _exact_float(v))
        gaps.append(gap)
        scaled = _exact_add(_exact_mul(keep, _exact_float(w)), epsilon_)
        if scaled != _ZERO:
            linear = _exact_add(linear, _exact_mul(scaled, gap))
            total_weight = _exact_add(total_weight, scaled)
    others = [_number(d) for k, d in enumerate(gaps) if k != top_index]
    linear, total_weight = _number(linear), _number(total_weight)
    if not total_weight or not others:
        with mpmath.workprec(_TARGET_BITS + 16):
            return linear / classes  # no logarithm (one class, or target weights summing to 0)
    if (linear >= 0) == (total_weight >= 0) or not linear:
        with mpmath.workprec(_START_BITS + len(others).bit_length()):  # one sign: nothing cancels
            return (linear + total_weight * mpmath.log1p(mpmath.fsum(mpmath.exp(-d) for d in others))) / classes

    def evaluate():
        rest = mpmath.fsum(mpmath.exp(-d) for d in others)
        logarithm = total_weight * mpmath.log1p(rest)
        total = linear + logarithm
        slack = mpmath.ldexp(len(others) + 8, 2 - mpmath.mp.prec)
        return total / classes, (abs(logarithm) * slack + abs(total) * mpmath.ldexp(1, 1 - mpmath.mp.prec)) / classes

    return _settle(evaluate)


def exact_cross_entropy(input: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0, *, split: bool = False):
    r"""Exact per-sample cross-entropy :math:`\sum_j t_j (\mathrm{LSE}(z) - z_j)`, rounded once.

    Args:
        input: logits ``(N, C)`` or ``(C,)``.
        target: class indices ``(N,)`` / ``()`` or class probabilities shaped like ``input``.
        label_smoothing: torch's convention, :math:`t = (1 - \epsilon)\,t + \epsilon / C`.

    Exact for any finite float64 logits: the gaps :math:`\max z - z_j` are taken exactly and the
    small part as :math:`\mathrm{log1p}(\sum_{k \ne \arg\max} e^{z_k - \max z})`, so
    ``[[17., -104.]]`` gives 2.8e-53 and ``[[1e300, 1e300]]`` gives ln 2. The logarithm gets as many
    bits as keep the result within :math:`2^{-120}` relative (targets whose terms cancel included).

    Returns float64 ``(N,)`` (or ``()``), or ``(hi, lo)`` with ``split=True``.

    Example::

        >>> exact_cross_entropy(torch.tensor([[17.0, 0.0, -1.0]]), torch.tensor([0]))
        tensor([5.6629e-08], dtype=torch.float64)
    """
    func = "exact_cross_entropy"
    check.tensor(func, "input", input)
    check.tensor(func, "target", target, floating=False)
    epsilon = check.fraction(func, "label_smoothing", label_smoothing)
    if input.dim() not in (1, 2):
        raise ValueError(f"{func}(): argument 'input' must have shape (N, C) or (C,), got {tuple(input.shape)}")
    if input.shape[-1] == 0:
        raise ValueError(f"{func}(): argument 'input' must hold at least one class (C >= 1), got shape {tuple(input.shape)}")
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
        indices = target.detach().to("cpu", torch.int64).reshape(-1)
        if indices.numel() and (bool((indices < 0).any()) or bool((indices >= classes).any())):
            raise ValueError(f"{func}(): argument 'target' must hold class indices in [0, {classes - 1}]")
        probabilities = torch.nn.functional.one_hot(indices, classes).to(torch.float64)
    results = [_exact_cross_entropy_row(row, weights, epsilon)
               for row, weights in zip(logits.tolist(), probabilities.tolist())]
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
        tensor([9282610.6764], dtype=torch.float64)
    """
    func = "ulp_error"
    check.tensor(func, "approx", approx)
    if isinstance(exact, tuple) and len(exact) != 2:
        raise ValueError(f"{func}(): argument 'exact' must be a float64 tensor or a (hi, lo) pair, "
                         f"got a tuple of {len(exact)}")
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
