"""Forward + backward speed and peak memory of lossviz.stable against torch (``make bench``).

Speed: float32, each repetition times torch and lossviz back to back (alternating which goes first)
and keeps their ratio; the table prints the median of those paired ratios for each of three rounds,
so the spread between rounds shows how well a number repeats on this machine. One CPU thread and two.

Memory: the peak resident memory one forward + backward adds, each implementation in a fresh
subprocess (``/proc/self/clear_refs`` resets the peak, ``VmHWM`` in ``/proc/self/status`` reads it;
with ``MALLOC_MMAP_THRESHOLD_`` fixed, tensors above 128 KiB are mmapped and handed back to the
system when freed, so the resident size follows the live tensors). tracemalloc cannot see torch's allocations; this can, on any Linux CPU.

A second table keeps the older comparison of BCE-with-logits implementations (medians, 2 threads).
"""
from __future__ import annotations

import argparse
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


def time_once(fn, inputs):
    logits = inputs[0].detach().requires_grad_()
    start = time.perf_counter()
    fn(logits, *inputs[1:]).backward()
    return time.perf_counter() - start


def paired_ratios(reference, candidate, inputs, repetitions):
    """Median of per-repetition ratios candidate / reference, the order alternating."""
    time_once(reference, inputs), time_once(candidate, inputs)  # warm-up
    ratios, reference_times = [], []
    for repetition in range(repetitions):
        if repetition % 2:
            mine, theirs = time_once(candidate, inputs), time_once(reference, inputs)
        else:
            theirs, mine = time_once(reference, inputs), time_once(candidate, inputs)
        ratios.append(mine / theirs)
        reference_times.append(theirs)
    return statistics.median(ratios), statistics.median(reference_times)


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


def goals_table(repetitions: int, rounds: int = 3, large: bool = False) -> str:
    cases = LARGE if large else CASES
    rows = []
    for name, (make, reference, candidate, time_goal, memory_goal) in cases.items():
        inputs = make()
        row = [name]
        for threads in (1, 2):
            torch.set_num_threads(threads)
            measured = [paired_ratios(reference, candidate, inputs, repetitions) for _ in range(rounds)]
            ratios = " / ".join(f"{ratio:.2f}" for ratio, _ in measured)
            row.append(f"{ratios} (torch {measured[0][1] * 1e3:.1f} ms)")
        row.append(f"<= {time_goal}")
        ratio, theirs, mine = memory_ratio(name, large)
        row.append(f"{ratio:.2f} ({mine / 2**20:.0f} vs {theirs / 2**20:.0f} MiB)")
        row.append("-" if memory_goal is None else f"<= {memory_goal}")
        rows.append(row)
    headers = ["lossviz.stable / torch, forward + backward, float32",
               f"time, 1 thread ({rounds} rounds of {repetitions} pairs)", "time, 2 threads", "goal",
               "peak memory", "goal"]
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


def main(repetitions: int = 15, large: bool = False) -> str:
    threads = torch.get_num_threads()
    try:
        goals = goals_table(repetitions, large=large)
        candidates = "" if large else candidates_table(4 * repetitions)
    finally:
        torch.set_num_threads(threads)
    text = f"## Speed and memory (torch {torch.__version__})\n\n{goals}\n"
    return text + (f"\n{candidates}\n" if candidates else "")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory", nargs=2, metavar=("CASE", "WHICH"), help=argparse.SUPPRESS)
    parser.add_argument("--large", action="store_true", help="the issue's sizes (needs ~3 GB of memory)")
    parser.add_argument("--repetitions", type=int, default=15)
    arguments = parser.parse_args()
    if arguments.memory:
        print(json.dumps(measure_memory_here(arguments.memory[0], int(arguments.memory[1]), arguments.large)))
    else:
        print(main(arguments.repetitions, arguments.large))
