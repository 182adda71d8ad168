"""Forward + backward speed and peak memory of lossviz.stable against torch (``make bench``).

Speed: float32, torch and lossviz timed in pairs, back to back, the order alternating, each side
the best of three calls; each pair gives a ratio and a run reports the median of its ratios. One CPU thread is timed with the thread's
own CPU time (``time.thread_time``: other processes on a shared machine do not count, waiting for
the CPU does not either), two threads with the wall clock. Small cases get more pairs (each
measurement runs for about ``--seconds``). Each run is a fresh process; the table prints the three
runs' ratios and how far the farthest is from their median (the goal: within 0.15).

Allocator: glibc hands a tensor above its mmap threshold fresh pages (a page fault each, the
kernel zeroing it) and moves that threshold as blocks are freed, so the same process switches
between reusing memory and faulting it in anew; which one a run got decided its ratios (1.08 to
1.48 for BCE with pos_weight at two threads, one process to the next). Every ratio is therefore
timed twice, each in a fixed regime: ``memory reused`` (no mmap, the heap never trimmed: the
steady state of a training loop) and ``fresh pages`` (every tensor above 128 KiB its own mapping:
a first iteration, or any process that sets MALLOC_MMAP_THRESHOLD_). A goal holds when it holds
in both.

Memory: the peak resident memory one forward + backward adds, each implementation in a fresh
subprocess (``/proc/self/clear_refs`` resets the peak, ``VmHWM`` in ``/proc/self/status`` reads it;
with ``MALLOC_MMAP_THRESHOLD_`` fixed, tensors above 128 KiB are mmapped and handed back to the
system when freed, so the resident size follows the live tensors). tracemalloc cannot see torch's allocations; this can, on any Linux CPU.

A second table keeps the older comparison of BCE-with-logits implementations (medians, 2 threads).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from _table import table  # noqa: E402

from lossviz import naive, stable  # noqa: E402


def _ce_inputs(n, k):
    generator = torch.Generator().manual_seed(0)
    return torch.randn(n, k, generator=generator).mul_(3), torch.randint(0, k, (n,), generator=generator)


def _bce_inputs(n, k):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, k, generator=generator).mul_(4)
    y = (torch.rand(n, k, generator=generator) > 0.5).float()
    return x, y, torch.rand(k, generator=generator).mul_(3)


# name: (make inputs, torch's call, lossviz's call, goal on the time ratio, goal on the memory ratio)
CASES = {
    "cross_entropy, class indices, K = 10 (N = 1e5)": (
        lambda: _ce_inputs(100_000, 10), F.cross_entropy, stable.cross_entropy, 1.5, 1.5),
    "cross_entropy, class indices, K = 1000 (N = 1e4)": (
        lambda: _ce_inputs(10_000, 1000), F.cross_entropy, stable.cross_entropy, 2.0, 1.5),
    "BCE with logits (N = 1e6)": (
        lambda: _bce_inputs(100_000, 10)[:2], F.binary_cross_entropy_with_logits,
        stable.binary_cross_entropy_with_logits, 1.2, None),
    "BCE with logits, pos_weight (N = 1e5, C = 10)": (
        lambda: _bce_inputs(100_000, 10),
        lambda x, y, pw: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw),
        lambda x, y, pw: stable.binary_cross_entropy_with_logits(x, y, pos_weight=pw), 1.5, 1.5),
}
LARGE = {  # the size the issue measured (400 MB of logits): python speed.py --large
    "cross_entropy, class indices, K = 1000 (N = 1e5)": (
        lambda: _ce_inputs(100_000, 1000), F.cross_entropy, stable.cross_entropy, 2.0, 1.5),
    "BCE with logits, pos_weight (N = 1e6, C = 10)": (
        lambda: _bce_inputs(1_000_000, 10),
        lambda x, y, pw: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw),
        lambda x, y, pw: stable.binary_cross_entropy_with_logits(x, y, pos_weight=pw), 1.5, 1.5),
}


def time_once(fn, inputs, clock=time.perf_counter):
    logits = inputs[0].detach().requires_grad_()
    start = clock()
    fn(logits, *inputs[1:]).backward()
    return clock() - start


def time_best(fn, inputs, clock, calls=3):
    """The fastest of a few calls in a row: another process's burst slows some calls, never speeds one."""
    return min(time_once(fn, inputs, clock) for _ in range(calls))


def paired_ratios(reference, candidate, inputs, clock=time.perf_counter, seconds=1.0, least=15, most=401):
    """Median of per-pair ratios candidate / reference, the order alternating; about ``seconds`` long.
    Each side of a pair is the best of three calls in a row (``time_best``).

    Returns (median ratio, median reference time, pairs timed)."""
    for _ in range(2):  # warm-up: first-call set-up, and the caches of both
        time_once(reference, inputs, clock), time_once(candidate, inputs, clock)
    pair = 3 * (time_once(reference, inputs, time.perf_counter) + time_once(candidate, inputs, time.perf_counter))
    pairs = min(most, max(least, int(seconds / max(pair, 1e-6)))) | 1  # odd: a middle ratio
    ratios, reference_times = [], []
    collecting = gc.isenabled()
    gc.disable()  # a collection inside one timing would land on one side of the pair
    try:
        for repetition in range(pairs):
            if repetition % 2:
                mine, theirs = time_best(candidate, inputs, clock), time_best(reference, inputs, clock)
            else:
                theirs, mine = time_best(reference, inputs, clock), time_best(candidate, inputs, clock)
            ratios.append(mine / theirs)
            reference_times.append(theirs)
    finally:
        if collecting:
            gc.enable()
    return statistics.median(ratios), statistics.median(reference_times), pairs


def clock_for(threads: int):
    return time.thread_time if threads == 1 else time.perf_counter


def selected(large: bool, only: str = "") -> dict:
    """The cases whose name contains ``only`` (all by default)."""
    return {name: case for name, case in (LARGE if large else CASES).items() if only in name}


def measure_run(large: bool, seconds: float, only: str = "") -> dict:
    """One run: {case: {threads: [ratio, torch seconds, pairs]}} (runs in its own process)."""
    results = {}
    threads_before = torch.get_num_threads()
    try:
        for name, (make, reference, candidate, *_) in selected(large, only).items():
            inputs = make()
            results[name] = {}
            for threads in (1, 2):
                torch.set_num_threads(threads)
                results[name][threads] = list(paired_ratios(reference, candidate, inputs, clock_for(threads),
                                                            seconds))
    finally:
        torch.set_num_threads(threads_before)
    return results


# glibc's malloc tunables, read at process start (mallopt(3)): the regimes described above
ALLOCATORS = {
    "memory reused": {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(1 << 40)},
    "fresh pages": {"MALLOC_MMAP_THRESHOLD_": "131072"},
}


def run_in_fresh_process(large: bool, seconds: float, only: str = "",
                         allocator: str = "memory reused") -> dict:
    command = [sys.executable, __file__, "--one-run", "--seconds", str(seconds), "--only", only]
    command += ["--large"] if large else []
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | ALLOCATORS[allocator]
    result = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return {name: {int(k): v for k, v in row.items()} for name, row in json.loads(result.stdout.splitlines()[-1]).items()}


def spread(values) -> float:
    """How far the farthest value lies from the median of them all."""
    middle = statistics.median(values)
    return max(abs(v - middle) for v in values)


def _resident_peak_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def _resident_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def measure_memory_here(case: str, which: int, large: bool) -> int:
    """Peak bytes one forward + backward adds on top of its inputs (run in a fresh process)."""
    torch.set_num_threads(1)
    make, *calls = (LARGE if large else CASES)[case]
    fn = calls[which]
    small = [t[:2] if t.dim() > 1 or t.shape[0] > 100 else t for t in make()]
    time_once(fn, small)  # first-call set-up (kernels, thread pool) outside the measurement
    inputs = make()
    inputs = [inputs[0].detach().requires_grad_(), *inputs[1:]]
    before = _resident_kib()
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # the peak starts again from the current resident size
    fn(*inputs).backward()
    return (_resident_peak_kib() - before) * 1024


def memory_ratio(case: str, large: bool):
    peaks = []
    for which in (0, 1):
        command = [sys.executable, __file__, "--memory", case, str(which)] + (["--large"] if large else [])
        # a fixed mmap threshold turns off glibc's sliding one: every tensor above 128 KiB is its own
        # mapping, returned to the system when freed, so the resident size follows live tensors
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")
        result = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
        peaks.append(json.loads(result.stdout.strip().splitlines()[-1]))
    return peaks[1] / peaks[0], peaks[0], peaks[1]


def goals_table(seconds: float = 1.0, runs: int = 3, large: bool = False, tolerance: float = 0.15,
                only: str = "") -> str:
    cases = selected(large, only)
    # the runs of the two regimes take turns, so that a slower stretch of the machine lands on both
    measured = {allocator: [] for allocator in ALLOCATORS}
    for _ in range(runs):
        for allocator in ALLOCATORS:
            measured[allocator].append(run_in_fresh_process(large, seconds, only, allocator))
    rows = []
    for name, (*_, time_goal, memory_goal) in cases.items():
        for allocator, allocator_runs in measured.items():
            row = [f"{name}, {allocator}"]
            for threads in (1, 2):
                ratios = [run[name][threads][0] for run in allocator_runs]
                torch_ms = statistics.median(run[name][threads][1] for run in allocator_runs) * 1e3
                pairs = allocator_runs[0][name][threads][2]
                verdict = "ok" if spread(ratios) <= tolerance else "NO"
                row.append(" / ".join(f"{ratio:.2f}" for ratio in ratios)
                           + f" (±{spread(ratios):.2f} {verdict}; torch {torch_ms:.1f} ms, {pairs} pairs)")
            row.append(f"<= {time_goal}")
            if allocator == next(iter(ALLOCATORS)):
                ratio, theirs, mine = memory_ratio(name, large)
                row.append(f"{ratio:.2f} ({mine / 2**20:.0f} vs {theirs / 2**20:.0f} MiB)")
                row.append("-" if memory_goal is None else f"<= {memory_goal}")
            else:
                row += ["(one peak per case)", ""]
            rows.append(row)
    headers = ["lossviz.stable / torch, forward + backward, float32",
               f"time, 1 thread, CPU time ({runs} runs: median of paired ratios; ± to their median)",
               "time, 2 threads, wall clock", "goal", "peak memory", "goal"]
    return table(headers, rows)


# --- the older table: BCE-with-logits implementations against torch's native op ---------------------

CANDIDATES = {
    "torch BCEWithLogits (native)": F.binary_cross_entropy_with_logits,
    "lossviz.stable BCE with logits": stable.binary_cross_entropy_with_logits,
    "torch sigmoid + BCELoss": lambda x, y: F.binary_cross_entropy(torch.sigmoid(x), y),
    "torch cross_entropy on [0, x] (2 classes)": lambda x, y: F.cross_entropy(
        torch.stack([torch.zeros_like(x), x], 1), y.long()),
    "lossviz.naive textbook BCE": naive.binary_cross_entropy_with_logits,
}


def measure_candidates(size: int, repetitions: int):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(size, generator=generator) * 4
    y = (torch.rand(size, generator=generator) > 0.5).float()
    times = {name: [] for name in CANDIDATES}
    for fn in CANDIDATES.values():  # warm-up
        time_once(fn, (x, y))
    for _ in range(repetitions):
        for name, fn in CANDIDATES.items():
            times[name].append(time_once(fn, (x, y)))
    return {name: statistics.median(values) for name, values in times.items()}


def candidates_table(repetitions: int) -> str:
    torch.set_num_threads(2)
    sizes = (100_000, 1_000_000)
    results = {size: measure_candidates(size, repetitions) for size in sizes}
    rows = []
    for name in CANDIDATES:
        row = [name]
        for size in sizes:
            base = results[size]["torch BCEWithLogits (native)"]
            row.append(f"{results[size][name] * 1e3:.2f} ms ({results[size][name] / base:.2f}x)")
        rows.append(row)
    headers = ["forward + backward, median of %d" % repetitions] + [f"N = {size:.0e}" for size in sizes]
    return table(headers, rows)


def main(seconds: float = 1.0, large: bool = False, runs: int = 3, only: str = "") -> str:
    threads = torch.get_num_threads()
    try:
        goals = goals_table(seconds, runs, large=large, only=only)
        candidates = "" if large or only else candidates_table(60)
    finally:
        torch.set_num_threads(threads)
    text = f"## Speed and memory (torch {torch.__version__})\n\n{goals}\n"
    return text + (f"\n{candidates}\n" if candidates else "")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory", nargs=2, metavar=("CASE", "WHICH"), help=argparse.SUPPRESS)
    parser.add_argument("--one-run", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--large", action="store_true", help="the issue's sizes (needs ~3 GB of memory)")
    parser.add_argument("--seconds", type=float, default=1.0, help="about how long each ratio is measured")
    parser.add_argument("--runs", type=int, default=3, help="independent runs (fresh processes) per ratio")
    parser.add_argument("--only", default="", help="only the rows whose name contains this, e.g. pos_weight")
    arguments = parser.parse_args()
    if arguments.memory:
        print(json.dumps(measure_memory_here(arguments.memory[0], int(arguments.memory[1]), arguments.large)))
    elif arguments.one_run:
        print(json.dumps(measure_run(arguments.large, arguments.seconds, arguments.only)))
    else:
        print(main(arguments.seconds, arguments.large, arguments.runs, arguments.only))
