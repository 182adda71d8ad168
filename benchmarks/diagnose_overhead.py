"""What ``lossviz.diagnose()`` adds to a training step of notebook 10's four models.

One step is notebook 10's loop body: zero_grad, forward, loss, backward, Adam step, the loss
recorded and shown on the progress bar. Blocks of steps take turns (plain, inside an empty
TorchFunctionMode, inside diagnose()), and each overhead is the median ratio to the plain block of
the same turn, so a slow moment of a shared machine falls on all three alike. Goal: at most 10%.
The empty mode column is why diagnose() wraps the loss entry points instead of using a
TorchFunctionMode: under a mode every op of the step calls Python, which alone exceeds the goal.
"""
import contextlib
import io
import statistics
import time

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from tqdm import tqdm

from _table import table
from lossviz import diagnose


def problems():
    """Notebook 10's four problems: (name, model, loss, inputs, targets), same sizes and seeds."""
    def model(inputs, outputs):
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(inputs, 32), nn.ReLU(), nn.Linear(32, outputs))

    generator = torch.Generator().manual_seed(10)
    features = torch.randn(600, 8, generator=generator)
    values = features @ torch.randn(8, 1, generator=generator)
    labels = (torch.rand(1000, 1, generator=generator) < 0.05).float()
    points = torch.randn(1000, 2, generator=generator) + 1.5 * labels
    signals = torch.randn(1000, 6, generator=generator)
    tags = (torch.rand(1000, 4, generator=generator) < torch.tensor([0.4, 0.2, 0.1, 0.05])).float()
    classes = torch.randint(0, 5, (1000,), generator=generator)
    clouds = torch.randn(1000, 2, generator=generator) + classes.unsqueeze(1)
    return [
        ("regression · MSELoss", model(8, 1), nn.MSELoss(), features, values),
        ("binary · BCEWithLogitsLoss", model(2, 1), nn.BCEWithLogitsLoss(pos_weight=torch.tensor(18.6)),
         points, labels),
        ("multi-label · BCEWithLogitsLoss", model(6, 4), nn.BCEWithLogitsLoss(), signals, tags),
        ("multi-class · CrossEntropyLoss", model(2, 5), nn.CrossEntropyLoss(label_smoothing=0.1),
         clouds, classes),
    ]


def train(model, loss_fn, inputs, targets, optimizer, steps):
    """Notebook 10's loop body, progress bar included (written to a string, not the terminal)."""
    history = {"loss": []}
    progress = tqdm(range(steps), file=io.StringIO(), mininterval=0.5)
    for _ in progress:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        history["loss"].append(loss.item())
        progress.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
    return history


class EmptyMode(TorchFunctionMode):
    """A mode that only passes every call through: the least any TorchFunctionMode costs."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))


def seconds_per_step(problem, steps, context):
    """CPU time of this thread (not wall time: other processes on a shared machine do not count)."""
    _, model, loss_fn, inputs, targets, optimizer = problem
    start = time.thread_time()
    with context() as report:
        train(model, loss_fn, inputs, targets, optimizer, steps)
    assert not getattr(report, "findings", None), report
    return (time.thread_time() - start) / steps


CONTEXTS = {"plain": contextlib.nullcontext, "empty": EmptyMode, "diagnose": lambda: diagnose(warn=False)}


def main(repetitions: int = 41, steps: int = 25) -> str:
    torch.set_num_threads(1)  # notebook 10's setting
    rows = []
    for name, model, loss_fn, inputs, targets in problems():
        problem = (name, model, loss_fn, inputs, targets, torch.optim.Adam(model.parameters(), lr=0.02))
        for context in CONTEXTS.values():  # warm-up
            seconds_per_step(problem, steps, context)
        times = {name: [] for name in CONTEXTS}
        for _ in range(repetitions):
            for key, context in CONTEXTS.items():
                times[key].append(seconds_per_step(problem, steps, context))
        step = statistics.median(times["plain"])
        ratio = {key: statistics.median(t / p for t, p in zip(times[key], times["plain"])) for key in CONTEXTS}
        added = step * (ratio["diagnose"] - 1)
        rows.append([name, f"{step * 1e6:.0f} µs", f"{ratio['empty'] - 1:+.1%}", f"{ratio['diagnose'] - 1:+.1%}",
                     f"{added * 1e6:.0f} µs"])
    headers = ["notebook 10 model", "step", "empty TorchFunctionMode", "diagnose() (goal ≤ 10%)",
               "diagnose() adds per step"]
    return (f"## diagnose() overhead per training step (torch {torch.__version__}, 1 thread; "
            f"CPU time, median over {repetitions} turns of {steps}-step blocks)\n\n{table(headers, rows)}\n")


if __name__ == "__main__":
    print(main())
