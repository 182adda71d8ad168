"""End to end in a real browser: key press on a slider -> the new figure decoded on the page.

JupyterLab (this venv, on 127.0.0.1, token through JUPYTER_TOKEN) and Chromium driven by
Playwright (/usr/bin/chromium, or LOSSVIZ_CHROMIUM). A generated notebook shows each explorer
as a notebook runs it (palette frames, the two settings one step either side drawn ahead while
the kernel is idle: lossviz/widgets/_prefetch.py), once per frame encoding with every press drawn
cold (palette PNG, lossless WebP, plain PNG), and an `interact` cell showing the same figure the
usual way (a new figure per update). For each explorer, key presses on the first slider take
turns between these: each press is timed from the keydown event's timestamp to ``img.decode()``
of the new image, and the frame's bytes counted. In the drawn-ahead variant every press is a
first visit too: the explorer forgets the frames it drew on presses, so only a frame drawn ahead
can serve the next press (a setting seen before would be served from the kept frames anyway).
The slider bounces between its ends, so every press changes the value. Each timed press starts
as a student's next press on the same slider does: slider on screen and focused, kernel idle for
100 ms, page drawn twice since (without this, the scroll from one output to the next and the tail
of the `interact` update before it were counted in the press: 97 ms measured for the bare round
trip that takes 43 ms on a settled page).

A burst of key presses with no wait in between shows whether a fast drag queues: the frontend
sends at most one update while the kernel is busy (ipywidgets' message throttle) and merges the
rest into the latest value, and the kernel itself draws only the latest of the changes that
arrive while it is busy (lossviz/widgets/_pacing.py), so the figure catches up at once instead of
replaying every step.

The server and the page scripts are tests/_jupyterlab.py's, shared with the browser test.

Run: ``.venv/bin/python benchmarks/browser_latency.py [--presses 50]``; ``make bench``
runs it.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from _jupyterlab import CHROMIUM, CHROMIUM_ARGS, chromium_available, jupyterlab, kernel_output, open_and_run  # noqa: E402
from _table import table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIRST_SLIDER = {"overflow_explorer": "label", "precision_explorer": "label", "softmax_explorer": "classes",
                "label_smoothing_explorer": "epsilon", "pos_weight_explorer": "pos_weight"}
ENCODINGS = ("palette", "webp", "png")  # each with every press drawn: kept frames off
CHOSEN = "palette"
AHEAD = "ahead"  # the chosen encoding, frames drawn ahead: what an explorer in a notebook does
WARMUP = 3
PRESS_TIMEOUT_MS = 15000
BURST = 10

SETUP = f"""
import sys
sys.path.insert(0, {str(ROOT / 'benchmarks')!r})
import lossviz
from lossviz import plots
from lossviz.widgets import EXPLORERS
from _interact import interact_widget
lossviz.set_language("en")
FIRST_SLIDER = {FIRST_SLIDER!r}
def live(name, encoding):
    ahead = encoding == {AHEAD!r}
    plots.FRAME_ENCODING = {CHOSEN!r} if ahead else encoding
    try:
        explorer = EXPLORERS[name]("en")
    finally:
        plots.FRAME_ENCODING = {CHOSEN!r}
    if not ahead:
        explorer.frames_kept = 0  # every press computes, draws and encodes its frame
        return explorer
    refresh = explorer.refresh
    def first_visits_only(*args, **kwargs):
        # forget every kept frame once a press is served: the next press can only be served by a
        # frame drawn ahead after this one (a revisit would otherwise be served from the kept frames)
        try:
            return refresh(*args, **kwargs)
        finally:
            explorer._kept.clear()
    explorer.refresh = explorer.pacer._draw = first_visits_only
    return explorer
def floor():
    # the round trip alone: a slider that swaps two of an explorer's own frames, computed beforehand
    import ipywidgets
    explorer = EXPLORERS["label_smoothing_explorer"]("en")
    frames = [explorer.image.value]
    explorer.controls["epsilon"].value = 0.3
    frames.append(explorer.image.value)
    slider = ipywidgets.FloatSlider(value=0.1, min=0, max=1, step=0.01, continuous_update=True)
    image = ipywidgets.Image(value=frames[0], format="png")
    slider.observe(lambda change: setattr(image, "value", frames[round(change.new * 100) % 2]), "value")
    return ipywidgets.VBox([slider, image])
"""
FLOOR = ("round trip", "floor")


def _notebook(path: Path) -> list[tuple[str, str]]:
    """Writes the notebook; returns (explorer, variant) per output, in page order."""
    import nbformat
    cells, order = [nbformat.v4.new_code_cell(SETUP)], []
    for name in FIRST_SLIDER:
        for encoding in (AHEAD, *ENCODINGS):
            cells.append(nbformat.v4.new_code_cell(f"live({name!r}, {encoding!r})"))
            order.append((name, encoding))
        cells.append(nbformat.v4.new_code_cell(f"_ = interact_widget(EXPLORERS[{name!r}]('en'), FIRST_SLIDER[{name!r}])"))
        order.append((name, "interact"))
    cells.append(nbformat.v4.new_code_cell("floor()"))
    order.append(FLOOR)
    kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}}
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata=kernel), path)
    return order


# Arms one measurement on output `index`: the keydown's timestamp, then the next new image there
# (a changed src on the explorer's <img>, a new <img> in interact's output), decoded.
_ARM = """([index, timeoutMs]) => {
  const outputs = window.jupyterapp.shell.currentWidget.node.querySelectorAll('.jp-Cell .jp-OutputArea-output');
  const output = [...outputs].filter(o => o.querySelector('.noUi-handle'))[index];
  const handle = output.querySelector('.noUi-handle');
  const before = new Set([...output.querySelectorAll('img')].map(i => i.src));
  const state = {keydown: null};
  handle.addEventListener('keydown', e => { state.keydown = e.timeStamp; }, {capture: true, once: true});
  window.__lossvizPending = new Promise((resolve) => {
    const timer = setTimeout(() => { observer.disconnect(); resolve({timeout: true}); }, timeoutMs);
    const observer = new MutationObserver(async () => {
      const img = [...output.querySelectorAll('img')].find(i => i.src && !before.has(i.src));
      if (!img) return;
      observer.disconnect();
      clearTimeout(timer);
      const seen = performance.now();
      await img.decode();
      const decoded = performance.now();
      let bytes;
      if (img.src.startsWith('data:')) {
        const b64 = img.src.slice(img.src.indexOf(',') + 1);
        bytes = Math.floor(b64.length * 3 / 4) - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);
      } else {
        bytes = (await (await fetch(img.src)).blob()).size;
      }
      resolve({ms: decoded - state.keydown, seen: seen - state.keydown, bytes});
    });
    observer.observe(output, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
  });
  const now = Number(handle.getAttribute('aria-valuenow')), max = Number(handle.getAttribute('aria-valuemax'));
  const min = Number(handle.getAttribute('aria-valuemin'));
  return {now, max, min};
}"""

# A burst: counts new images on output `index` until none came for `quietMs`.
_ARM_BURST = """([index, quietMs]) => {
  const outputs = window.jupyterapp.shell.currentWidget.node.querySelectorAll('.jp-Cell .jp-OutputArea-output');
  const output = [...outputs].filter(o => o.querySelector('.noUi-handle'))[index];
  const handle = output.querySelector('.noUi-handle');
  const seen = new Set([...output.querySelectorAll('img')].map(i => i.src));
  const state = {first: null, last: null, frames: 0};
  handle.addEventListener('keydown', e => { if (state.first === null) state.first = e.timeStamp; }, {capture: true});
  window.__lossvizPending = new Promise((resolve) => {
    let quiet = null;
    const finish = () => { observer.disconnect(); resolve({frames: state.frames, ms: state.last - state.first}); };
    const observer = new MutationObserver(() => {
      for (const img of output.querySelectorAll('img')) {
        if (img.src && !seen.has(img.src)) { seen.add(img.src); state.frames += 1; state.last = performance.now(); }
      }
      clearTimeout(quiet); quiet = setTimeout(finish, quietMs);
    });
    observer.observe(output, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
    quiet = setTimeout(finish, quietMs * 10);
  });
}"""


# Median kernel-side time of an update (compute, draw, encode), per explorer and encoding.
_KERNEL_TIMES = """import gc, json, statistics
from lossviz.widgets import Explorer
print(json.dumps({f"{type(e).name}/{'ahead' if e.frames_kept else e.live.encoding}": {
                      "ms": 1e3 * statistics.median(list(e.update_seconds)[4:] or [0]),
                      "reused": e.frames_reused, "ahead": e.prefetcher.drawn, "sent": e.frames_sent}
                  for e in gc.get_objects() if issubclass(type(e), Explorer) and len(getattr(e, "update_seconds", ())) > 5}))"""


# Resolves once the kernel has been idle for `quietMs` and the page has drawn twice since. Each
# timed press starts from a quiet page with its slider on screen and focused, as a student's next
# press on the same slider does: the presses take turns between outputs far apart on the page, and
# the scroll to the next one (JupyterLab then lays out and paints the cells that come into view)
# or the tail of an `interact` update (closing its figure, laying out its new output) would
# otherwise be counted in the press.
_SETTLE = """async (quietMs) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  let idleSince = null;
  for (;;) {
    const now = performance.now();
    if (kernel.status !== 'idle') idleSince = null;
    else if (idleSince === null) idleSince = now;
    else if (now - idleSince >= quietMs) break;
    await new Promise(resolve => setTimeout(resolve, 10));
  }
  for (let i = 0; i < 2; i++) await new Promise(resolve => requestAnimationFrame(resolve));
}"""
SETTLE_MS = 100


def _slider(page, index: int):
    """Output ``index``'s slider handle, scrolled into view and focused, once the page is quiet."""
    handle = page.locator(".jp-Cell .jp-OutputArea-output:has(.noUi-handle)").nth(index).locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    page.evaluate(_SETTLE, SETTLE_MS)
    return handle


def _press(page, index: int, direction: dict) -> dict:
    handle = _slider(page, index)
    position = page.evaluate(_ARM, [index, PRESS_TIMEOUT_MS])
    if position["now"] >= position["max"] - 1e-9:
        direction[index] = "ArrowLeft"
    elif position["now"] <= position["min"] + 1e-9:
        direction[index] = "ArrowRight"
    handle.press(direction.setdefault(index, "ArrowRight"))
    return page.evaluate("() => window.__lossvizPending")


def _burst(page, index: int, direction: dict) -> dict:
    handle = _slider(page, index)
    position = {key: float(handle.get_attribute(f"aria-value{key}")) for key in ("now", "min", "max")}
    # towards the farther end, so that every press of the burst moves the slider
    key = "ArrowRight" if position["max"] - position["now"] >= position["now"] - position["min"] else "ArrowLeft"
    page.evaluate(_ARM_BURST, [index, 800])
    for _ in range(BURST):
        page.keyboard.press(key)
    return page.evaluate("() => window.__lossvizPending")


def measure(presses: int, encoding_presses: int) -> dict:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="lossviz-bench-"))
    root = work / "notebooks"
    root.mkdir()
    order = _notebook(root / "bench.ipynb")
    results = {key: [] for key in order}
    bursts = {}
    try:
        with jupyterlab(root, work) as lab, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            open_and_run(page, lab, "bench.ipynb", ready_s=120, run_s=300, images=len(order))
            direction = {}
            floor_index = order.index(FLOOR)
            for _ in range(WARMUP):
                _press(page, floor_index, direction)
            for name in FIRST_SLIDER:
                variants = [(i, key) for i, key in enumerate(order) if key[0] == name]
                for _ in range(WARMUP):
                    for index, _key in variants:
                        _press(page, index, direction)
                for round_ in range(presses):
                    for index, key in variants:
                        if key[1] in (AHEAD, CHOSEN, "interact") or round_ < encoding_presses:
                            results[key].append(_press(page, index, direction))
                    if round_ % len(FIRST_SLIDER) == 0:  # the floor, spread over the whole run
                        results[FLOOR].append(_press(page, floor_index, direction))
                for index, key in variants:
                    if key[1] in (AHEAD, "interact"):
                        bursts[key] = _burst(page, index, direction)
            kernel_ms = kernel_output(page, _KERNEL_TIMES)
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    try:
        kernel = json.loads(kernel_ms)
    except ValueError:
        kernel = {}
    if "error" in kernel:
        print(f"kernel-side times unavailable: {kernel['error']}", file=sys.stderr)
    return {"results": results, "bursts": bursts, "kernel_ms": kernel}


def _stats(samples: list[dict]):
    times = np.array([s["ms"] for s in samples if not s.get("timeout")])
    sizes = np.array([s["bytes"] for s in samples if not s.get("timeout")])
    timeouts = sum(1 for s in samples if s.get("timeout"))
    return times, sizes, timeouts


def _burst_cell(burst: dict) -> str:
    frames = burst.get("frames")
    return f"{frames} / {burst['ms']:.0f}" if frames else f"{frames if frames is not None else '-'} / -"


def _kernel(kernel: dict, name: str, variant: str, field: str = "ms"):
    return kernel.get(f"{name}/{variant}", {}).get(field, float("nan"))


def report(measured: dict, presses: int, encoding_presses: int) -> str:
    results, bursts, kernel = measured["results"], measured["bursts"], measured["kernel_ms"]
    rows, encoding_rows, all_live, all_cold, all_interact = [], [], [], [], []
    for name in FIRST_SLIDER:
        live, live_bytes, live_lost = _stats(results[(name, AHEAD)])
        cold, _, cold_lost = _stats(results[(name, CHOSEN)])
        slow, slow_bytes, slow_lost = _stats(results[(name, "interact")])
        all_live.append(live)
        all_cold.append(cold)
        all_interact.append(slow)
        burst, slow_burst = bursts.get((name, AHEAD), {}), bursts.get((name, "interact"), {})
        reused, sent = _kernel(kernel, name, AHEAD, "reused"), _kernel(kernel, name, AHEAD, "sent")
        rows.append([name, len(live), f"{np.median(live):.1f}", f"{np.percentile(live, 95):.1f}",
                     f"{_kernel(kernel, name, AHEAD):.1f}", f"{reused} of {sent}", f"{np.mean(live_bytes) / 1024:.1f}",
                     f"{np.median(cold):.1f}", f"{np.median(slow):.0f}", f"{np.percentile(slow, 95):.0f}",
                     f"{np.mean(slow_bytes) / 1024:.1f}", f"{np.median(slow) / np.median(live):.1f}x",
                     _burst_cell(burst), _burst_cell(slow_burst), str(live_lost + cold_lost + slow_lost)])
        for encoding in ENCODINGS:
            times, sizes, lost = _stats(results[(name, encoding)])
            encoding_rows.append([name, encoding, len(times), f"{np.median(times):.1f}", f"{np.percentile(times, 95):.1f}",
                                  f"{_kernel(kernel, name, encoding):.1f}", f"{np.mean(sizes) / 1024:.1f}", str(lost)])
    live, cold, slow = np.concatenate(all_live), np.concatenate(all_cold), np.concatenate(all_interact)
    rows.append(["all five", len(live), f"{np.median(live):.1f}", f"{np.percentile(live, 95):.1f}", "", "", "",
                 f"{np.median(cold):.1f}", f"{np.median(slow):.0f}", f"{np.percentile(slow, 95):.0f}", "",
                 f"{np.median(slow) / np.median(live):.1f}x", "", "", ""])
    floor, floor_bytes, _ = _stats(results[FLOOR])
    floor_line = (f"Round trip alone (a slider swapping two precomputed {np.mean(floor_bytes) / 1024:.0f} KB frames, no "
                  f"kernel work; {len(floor)} presses spread over the run): median {np.median(floor):.1f} ms, "
                  f"p95 {np.percentile(floor, 95):.1f} ms. Every press drawn on the press (no frame drawn ahead or kept), "
                  f"all five: median {np.median(cold):.1f} ms, p95 {np.percentile(cold, 95):.1f} ms, "
                  f"{np.median(slow) / np.median(cold):.1f}x faster than interact.")
    headers = ["explorer", "presses", "median ms", "p95 ms", "of which kernel ms", "frames sent undrawn", "KB/frame",
               "median ms, drawn on the press", "interact median ms", "interact p95 ms", "interact KB",
               "speed-up (medians)", f"burst of {BURST}: frames / ms", "interact burst", "timeouts"]
    encoding_headers = ["explorer", "frame encoding", "presses", "median ms", "p95 ms", "kernel ms", "KB/frame",
                        "timeouts"]
    return ("## End to end in the browser: key press -> new figure decoded (JupyterLab + Chromium)\n\n"
            f"Explorers as in a notebook: {CHOSEN!r} frames, the settings one step either side of the last one drawn "
            "ahead while the kernel is idle; every press is a first visit (frames drawn on a press are forgotten). "
            "Each press on the first slider alternates with the same press on the explorer with every frame drawn "
            "on the press and on an `interact` cell showing the same figure.\n\n"
            + table(headers, rows) + "\n\n" + floor_line
            + f"\n\nFrame encodings compared end to end, every press drawn ({encoding_presses} presses each, "
            "interleaved):\n\n" + table(encoding_headers, encoding_rows) + "\n")


def main(presses: int = 50, encoding_presses: int = 20) -> str:
    if not chromium_available():
        return f"## End to end in the browser\n\nskipped: no Chromium at {CHROMIUM} (set LOSSVIZ_CHROMIUM)\n"
    measured = measure(presses, encoding_presses)
    raw = ROOT / "test-output" / "browser_latency.json"  # git-ignored: every sample, for a second look
    raw.parent.mkdir(exist_ok=True)
    raw.write_text(json.dumps({"results": {f"{k[0]}/{k[1]}": v for k, v in measured["results"].items()},
                               "bursts": {f"{k[0]}/{k[1]}": v for k, v in measured["bursts"].items()},
                               "kernel_ms": measured["kernel_ms"]}))
    return report(measured, presses, encoding_presses)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=50)
    parser.add_argument("--encoding-presses", type=int, default=20)
    arguments = parser.parse_args()
    print(main(arguments.presses, arguments.encoding_presses))
