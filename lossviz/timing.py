"""Forward + backward timing for the notebooks' "what does it cost" cells, as ratios.

Implementations take turns within each repetition, so a busy moment of a shared machine falls on
all of them alike; report ratios to a baseline, not milliseconds, which depend on the machine.
"""
from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping
from numbers import Real

import torch


def _kind(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return f"{type(value).__name__} {value!r}" if isinstance(value, (int, float, str)) else type(value).__name__


def _check_candidates(func: str, candidates) -> None:
    if not isinstance(candidates, Mapping):
        raise TypeError(f"{func}(): argument 'candidates' must be a dict of name -> loss function, got {_kind(candidates)}")
    if not candidates:
        raise ValueError(f"{func}(): argument 'candidates' must name at least one function, got an empty dict")
    for name, fn in candidates.items():
        if not callable(fn):
            raise TypeError(f"{func}(): argument 'candidates' must map each name to a function; "
                            f"{name!r} maps to {_kind(fn)}")


def _call(func: str, name: str, fn: Callable, inputs) -> torch.Tensor:
    loss = fn(*inputs)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError(f"{func}(): candidate {name!r} must return a one-element loss tensor to call "
                         f".backward() on, got {_kind(loss)}; use reduction='mean' or 'sum'")
    if not loss.requires_grad:
        raise ValueError(f"{func}(): candidate {name!r} returned a loss that does not require grad: "
                         "make_inputs() must return the tensors to differentiate with requires_grad=True")
    return loss


def forward_backward_seconds(candidates: dict[str, Callable], make_inputs: Callable, repetitions: int = 30) -> dict:
    """Median seconds of ``loss = fn(*make_inputs()); loss.backward()`` per candidate.

    Args:
        candidates: ``{name: loss function}``, each returning a one-element tensor.
        make_inputs: called before every call, returns fresh arguments as a tuple (those that
            need a gradient with ``requires_grad=True``); a single tensor is one argument.
        repetitions: timed rounds (an int >= 1), after one untimed warm-up round.

    A candidate that returns something ``.backward()`` cannot start from is a ValueError naming
    it; what a candidate itself raises propagates unchanged.
    """
    func = "forward_backward_seconds"
    _check_candidates(func, candidates)
    if not callable(make_inputs):
        raise TypeError(f"{func}(): argument 'make_inputs' must be a function returning the arguments, "
                        f"got {_kind(make_inputs)}")
    if isinstance(repetitions, bool) or not isinstance(repetitions, int):
        raise TypeError(f"{func}(): argument 'repetitions' must be an int, got {_kind(repetitions)}")
    if repetitions < 1:
        raise ValueError(f"{func}(): argument 'repetitions' must be at least 1, got {repetitions}")
    times = {name: [] for name in candidates}
    for repetition in range(repetitions + 1):
        for name, fn in candidates.items():
            inputs = make_inputs()
            if isinstance(inputs, torch.Tensor):
                inputs = (inputs,)
            elif not isinstance(inputs, (tuple, list)):
                raise TypeError(f"{func}(): argument 'make_inputs' must return a tuple of arguments, "
                                f"got {_kind(inputs)}")
            started = time.perf_counter()
            _call(func, name, fn, inputs).backward()
            if repetition:  # the first round warms caches and allocators
                times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def ratios(seconds: dict, baseline: str) -> dict:
    """Each time divided by the baseline's, rounded to 0.1 (a ratio is what carries between machines).

    ``seconds`` maps names to positive finite times (what :func:`forward_backward_seconds` returns).
    """
    func = "ratios"
    if not isinstance(seconds, Mapping):
        raise TypeError(f"{func}(): argument 'seconds' must be a dict of name -> seconds, got {_kind(seconds)}")
    for name, value in seconds.items():
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{func}(): argument 'seconds' must hold positive finite times; {name!r} has {_kind(value)}")
    if not isinstance(baseline, str) or baseline not in seconds:
        raise ValueError(f"{func}(): argument 'baseline' must be one of {list(seconds)}, got {baseline!r}")
    return {name: round(value / seconds[baseline], 1) for name, value in seconds.items()}
