"""Forward + backward time, median of interleaved repetitions, 2 CPU threads.

Implementations take turns inside each repetition so that a slow moment of a shared machine
falls on all of them alike; ratios are to torch's native BCEWithLogits.
"""
import statistics
import time

import torch
import torch.nn.functional as F

from _table import table
from lossviz import naive, stable

CANDIDATES = {
    "torch BCEWithLogits (native)": F.binary_cross_entropy_with_logits,
    "lossviz.stable BCE with logits": stable.binary_cross_entropy_with_logits,
    "torch sigmoid + BCELoss": lambda x, y: F.binary_cross_entropy(torch.sigmoid(x), y),
    "torch cross_entropy on [0, x] (2 classes)": lambda x, y: F.cross_entropy(
        torch.stack([torch.zeros_like(x), x], 1), y.long()),
    "lossviz.naive textbook BCE": naive.binary_cross_entropy_with_logits,
}


def time_once(fn, x, y):
    logits = x.detach().requires_grad_()
    start = time.perf_counter()
    fn(logits, y).backward()
    return time.perf_counter() - start


def measure(size: int, repetitions: int):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(size, generator=generator) * 4
    y = (torch.rand(size, generator=generator) > 0.5).float()
    times = {name: [] for name in CANDIDATES}
    for fn in CANDIDATES.values():  # warm-up
        time_once(fn, x, y)
    for _ in range(repetitions):
        for name, fn in CANDIDATES.items():
            times[name].append(time_once(fn, x, y))
    return {name: statistics.median(values) for name, values in times.items()}


def main(repetitions: int = 60) -> str:
    torch.set_num_threads(2)
    sizes = (100_000, 1_000_000)
    results = {size: measure(size, repetitions) for size in sizes}
    rows = []
    for name in CANDIDATES:
        row = [name]
        for size in sizes:
            base = results[size]["torch BCEWithLogits (native)"]
            row.append(f"{results[size][name] * 1e3:.2f} ms ({results[size][name] / base:.2f}x)")
        rows.append(row)
    headers = ["forward + backward, median of %d" % repetitions] + [f"N = {size:.0e}" for size in sizes]
    return f"## Speed (torch {torch.__version__}, {torch.get_num_threads()} threads)\n\n{table(headers, rows)}\n"


if __name__ == "__main__":
    print(main())
