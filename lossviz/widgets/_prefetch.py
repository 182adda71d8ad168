"""The next frame drawn before it is asked for: a slider's neighbours, while the kernel is idle.

A student moves a slider one step at a time (an arrow key, a slow drag), so after each frame the
settings one step either side are the likely next ones. Once the browser has had time to show the
frame, the explorer computes, draws and encodes those two frames and keeps them; the next step is
then sent from the kept frames (no compute, draw or encode). Measured in JupyterLab + Chromium on
the 2-core machine (benchmarks/browser_latency.py, 16 presses on the first slider of each of the
five explorers, every press a first visit): key press to decoded image, median 36.3 ms with every
frame drawn on the press, 33.3 ms with frames drawn ahead, 32.2 ms for a bare round trip (a slider
swapping two precomputed frames) in the same run. The kernel's part of a press fell from 13.6-19.6
ms (in the browser run: the browser takes the other core while the kernel draws) to 0.5-2.0 ms.

Only changes made in the browser start it, one neighbour per turn of the event loop (a message
that arrives meanwhile waits for at most one frame's drawing), and never without an event loop
(pytest, a script) or with frames_kept = 0; a notebook executed top to bottom draws exactly what
its cells set. A neighbour is the value the frontend itself sends one step on: the grid point,
with a float slider's value read to 12 significant digits (0.1 * 3 arrives as
0.30000000000000004) and a log slider's to 4, as the explorer reads them (_explorer._slid).
A held-down arrow key (about 30 presses a second) comes faster than DELAY_S: those presses are
drawn as they come, and _pacing keeps them from queueing.
"""
from __future__ import annotations

import math

from ._pacing import running_loop

# After a frame the browser decodes and paints it; drawing ahead at the same time took the CPU it
# needed: 20 ms after the frame, presses took 4.3 ms longer than the bare round trip; 60 ms after,
# 1.1 ms longer (all five explorers, same benchmark).
DELAY_S = 0.06


def slider_value(control, value: float) -> float:
    """A slider's value as the explorer reads it from the browser: the grid point without the
    frontend's rounding noise (float sliders), or 4 significant digits (log sliders, as shown)."""
    kind = type(control).__name__
    if kind == "FloatLogSlider":
        return float(f"{value:.4g}")
    if kind == "FloatSlider":
        return float(f"{value:.12g}")
    return value


def neighbours(control, value, direction: int = 1) -> list:
    """The values one step either side of ``value`` on ``control``'s grid (``direction`` first),
    inside its range; [] for anything that is not a slider or a value off its scale."""
    kind = type(control).__name__
    if kind not in ("IntSlider", "FloatSlider", "FloatLogSlider"):
        return []
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return []
    step = control.step or 1
    low, high = control.min, control.max
    if kind == "FloatLogSlider":
        if value <= 0:
            return []
        position = math.log(value, control.base)
    else:
        position = value
    index = round((position - low) / step)
    found = []
    for offset in (direction, -direction):
        point = low + (index + offset) * step
        if not (low - 1e-9 * step <= point <= high + 1e-9 * step):
            continue
        if kind == "FloatLogSlider":
            point = control.base ** point
        candidate = slider_value(control, point)
        if kind == "IntSlider":
            candidate = int(candidate)
        if candidate != value and candidate not in found:
            found.append(candidate)
    return found


class Prefetcher:
    """Draws the kept frames for a slider's neighbours on the kernel's event loop, one at a time."""

    def __init__(self, draw_ahead):
        self._draw_ahead = draw_ahead  # draw_ahead(setting, value) -> True when it drew a frame
        self._handle = None
        self._queue: list = []
        self.drawn = 0  # frames drawn ahead of a request

    def schedule(self, setting: str, direction: int, candidates) -> None:
        """After DELAY_S, draws ahead each of ``candidates(setting, direction)`` (asked then, from
        the settings drawn by that time); a later call replaces what is still waiting."""
        self.cancel()
        loop = running_loop()
        if loop is None:
            return  # no kernel loop (pytest, a script): nothing is drawn ahead
        self._handle = loop.call_later(DELAY_S, self._start, setting, direction, candidates)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._queue = []

    def _start(self, setting, direction, candidates) -> None:
        self._queue = [(setting, value) for value in candidates(setting, direction)]
        self._next()

    def _next(self) -> None:
        self._handle = None
        if not self._queue:
            return
        setting, value = self._queue.pop(0)
        if self._draw_ahead(setting, value):
            self.drawn += 1
        if self._queue:  # the next one on a later turn: a message waiting meanwhile goes first
            self._handle = running_loop().call_soon(self._next)
