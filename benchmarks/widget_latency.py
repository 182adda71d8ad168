"""Explorer update latency: this project's update path against the `interact` + new-figure pattern.

Each control of each explorer is swept through its range as a drag would (every step one
update). "live" sets the control's value: recompute, move the artists, blit, encode the frame,
with the kept frames off, so every step is drawn. "again" sweeps the same values once more with
the frames kept (a drag going back over settings it has shown). "interact" does the same work the
way `interact` cells usually do: a new figure each time, fully drawn and saved as PNG. Same data,
same drawing code, same machine. Times are the kernel thread's CPU time (time.thread_time), which
other processes on a shared machine do not inflate.
"""
import gc
import time

import numpy as np
from ipywidgets import Dropdown, ToggleButtons

from _interact import interact_png
from _table import table
from lossviz.widgets import EXPLORERS
from lossviz.widgets._explorer import NumberBox


def sweep(control, steps=16):
    """Values a person would pass through dragging (or clicking through) this control."""
    if isinstance(control, (Dropdown, ToggleButtons)):
        values = [option[1] if isinstance(option, tuple) else option for option in control.options]
        return (values * steps)[:steps]
    if isinstance(control, NumberBox):
        value = float(control.value)
        return [f"{v:.6g}" for v in np.linspace(value * 0.5, value * 1.5, steps)]
    low, high = control.min, control.max
    if type(control).__name__ == "FloatLogSlider":
        return list(control.base ** np.linspace(low, high, steps))
    values = np.linspace(low, high, steps)
    return [int(round(v)) for v in values] if type(control).__name__ == "IntSlider" else list(values)


def interact_pattern(explorer, values):
    """A new figure per update, as an `interact` callback with plt.subplots would make."""
    return interact_png(explorer, values)


def measure(make):
    """Live updates for every control (typed boxes apart), the same again with kept frames, then the
    interact pattern on the same values."""
    explorer = make("en")
    explorer.frames_kept = 0
    steps, typed, again = [], [], []
    for control_name, control in explorer.controls.items():
        if control_name in explorer.MIRRORS:
            continue  # a slider's box: the slider's own sweep covers it
        start_value = control.value
        for value in sweep(control):
            before = explorer.live.full_draws
            started = time.thread_time()
            control.value = value
            elapsed = time.thread_time() - started
            (typed if isinstance(control, NumberBox) else steps).append((elapsed, explorer.live.full_draws - before))
            if not isinstance(control, NumberBox):
                steps[-1] += (dict(explorer.values()),)
        control.value = start_value
        if not isinstance(control, NumberBox):
            explorer.frames_kept = 48
            for value in sweep(control) * 2:
                started = time.thread_time()
                control.value = value
                again.append(time.thread_time() - started)
            explorer.frames_kept = 0
            control.value = start_value
    assert explorer.last_error is None and not explorer.message.value, explorer.message.value
    gc.collect()  # the interact pattern's figures must not leave garbage for the live updates, nor the reverse
    pattern = []
    for _, _, values in steps:
        started = time.thread_time()
        interact_pattern(explorer, values)
        pattern.append(time.thread_time() - started)
    return steps, typed, again[len(again) // 2:], pattern  # again: the second pass, all kept


def main() -> str:
    rows = []
    for name, make in EXPLORERS.items():
        steps, typed, again, pattern = measure(make)
        live = np.array([elapsed for elapsed, _, _ in steps]) * 1e3
        full = sum(redraws for _, redraws, _ in steps)
        pattern_ms = np.array(pattern) * 1e3
        typed_ms = f"{np.median([t for t, _ in typed]) * 1e3:.0f} ({len(typed)})" if typed else "-"
        rows.append([name, len(live), f"{np.median(live):.1f}", f"{np.percentile(live, 95):.1f}", str(full),
                     f"{np.median(again) * 1e3:.1f}",
                     f"{np.median(pattern_ms):.0f}", f"{np.percentile(pattern_ms, 95):.0f}",
                     f"{np.median(pattern_ms) / np.median(live):.1f}x", typed_ms])
    headers = ["explorer", "slider/menu updates", "median ms", "p95 ms", "full redraws", "again (kept) median ms",
               "interact median ms",
               "interact p95 ms", "speed-up (medians)", "typed box median ms (n)"]
    return ("## Widget update latency, kernel CPU ms (each slider and menu swept as a drag or clicks would)\n\n"
            + table(headers, rows)
            + "\n\nTyped boxes (a new logit range, a typed pos_weight) are timed apart: one update per Enter.\n")


if __name__ == "__main__":
    print(main())
