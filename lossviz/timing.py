"""Forward + backward timing for the notebooks' "what does it cost" cells, as ratios.

Implementations take turns within each repetition, so a busy moment of a shared machine falls on
all of them alike; report ratios to a baseline, not milliseconds, which depend on the machine.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable


def forward_backward_seconds(candidates: dict[str, Callable], make_inputs: Callable, repetitions: int = 30) -> dict:
    """Median seconds of ``loss = fn(*make_inputs()); loss.backward()`` per candidate.

    ``make_inputs()`` returns fresh tensors (those that need a gradient with requires_grad set).
    """
    if not candidates:
        raise ValueError("forward_backward_seconds(): argument 'candidates' must name at least one function")
    if repetitions < 1:
        raise ValueError(f"forward_backward_seconds(): argument 'repetitions' must be at least 1, got {repetitions}")
    times = {name: [] for name in candidates}
    for repetition in range(repetitions + 1):
        for name, fn in candidates.items():
            inputs = make_inputs()
            started = time.perf_counter()
            fn(*inputs).backward()
            if repetition:  # the first round warms caches and allocators
                times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def ratios(seconds: dict, baseline: str) -> dict:
    """Each time divided by the baseline's, rounded to 0.1 (a ratio is what carries between machines)."""
    if baseline not in seconds:
        raise ValueError(f"ratios(): argument 'baseline' must be one of {list(seconds)}, got {baseline!r}")
    return {name: round(value / seconds[baseline], 1) for name, value in seconds.items()}
