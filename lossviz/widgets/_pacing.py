"""Frames at the pace the kernel can draw them: a fast drag never queues stale frames.

The kernel handles the browser's messages one after the other. When they come faster than an
update takes (a drag in a frontend without ipywidgets' message throttle, a slow shared machine),
each would otherwise be drawn, encoded and sent although a newer value is already waiting. So a
change from the browser that arrives while the kernel is still catching up (within one update's
time of the last frame) does not draw at once: it schedules one draw on the kernel's event loop,
a moment later, after the messages already waiting have been handled; every change before that
draw only updates the settings, and the draw shows the latest of them. A single change, a change
made from code (a notebook cell reads ``explorer.data`` right after setting a value) and every
change without a running event loop (pytest, a script) draw at once, as before.

Works with ipykernel 5-7 (its tornado loop runs on asyncio) and so with ipywidgets 7.7.1 (Colab)
and 8: the browser's changes are the ones made while ipywidgets holds the property lock.
"""
from __future__ import annotations

import asyncio
import time

MIN_GAP_S = 0.005  # a change sooner than this after the last frame counts as catching up
DELAY_S = 0.002    # long enough for the event loop to hand over the messages already waiting


def running_loop():
    """The kernel's event loop while a message is handled; None without one (pytest, a script)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def from_browser(widget, name: str = "value") -> bool:
    """True while ipywidgets applies a change that the frontend sent (set_state locks the trait)."""
    return name in (getattr(widget, "_property_lock", None) or {})


class Pacer:
    """Decides whether a change draws now or joins the one draw already scheduled."""

    def __init__(self, draw):
        self._draw = draw
        self._handle = None
        self._last_end = -float("inf")
        self._last_cost = 0.0
        self.coalesced = 0  # changes that joined a scheduled draw instead of drawing a frame each

    @property
    def pending(self) -> bool:
        return self._handle is not None

    def defer(self) -> bool:
        """True when a draw scheduled on the event loop will show this change (draw nothing now)."""
        if self._handle is not None:
            self.coalesced += 1
            return True
        loop = running_loop()
        if loop is None:
            return False  # no kernel loop running here: draw at once
        if time.monotonic() - self._last_end > max(self._last_cost, MIN_GAP_S):
            return False  # the kernel is idle: this change alone, drawn at once
        self._handle = loop.call_later(DELAY_S, self._run)
        return True

    def cancel(self) -> None:
        """A draw is happening now with the latest settings: the scheduled one is not needed."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def drawn(self, started: float) -> None:
        """Called at the end of every draw with its ``time.monotonic()`` start."""
        self._last_end = time.monotonic()
        self._last_cost = self._last_end - started

    def _run(self) -> None:
        self._handle = None
        self._draw()
