"""End to end in a real browser: key press on a slider -> the new figure decoded on the page.

JupyterLab (this venv, on 127.0.0.1, token through JUPYTER_TOKEN) and Chromium driven by
Playwright (/usr/bin/chromium, or LOSSVIZ_CHROMIUM). A generated notebook shows each explorer
once per frame encoding (palette PNG, lossless WebP, plain PNG) and an `interact` cell showing
the same figure the usual way (a new figure per update). For each explorer, key presses on the
first slider take turns between the encodings and interact: each press is timed from the
keydown event's timestamp to ``img.decode()`` of the new image, and the frame's bytes counted.
The slider bounces between its ends, so every press changes the value.

A burst of key presses with no wait in between shows whether a fast drag queues: the frontend
sends at most one update while the kernel is busy (ipywidgets' message throttle) and merges the
rest into the latest value, so the figure catches up at once instead of replaying every step.

Run: ``.venv/bin/python benchmarks/browser_latency.py [--presses 50]``; ``make bench`` runs it.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _table import table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("LOSSVIZ_CHROMIUM", "/usr/bin/chromium")
FIRST_SLIDER = {"overflow_explorer": "label", "precision_explorer": "label", "softmax_explorer": "classes",
                "label_smoothing_explorer": "epsilon", "pos_weight_explorer": "pos_weight"}
ENCODINGS = ("palette", "webp", "png")
CHOSEN = "palette"
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
    plots.FRAME_ENCODING = encoding
    try:
        return EXPLORERS[name]("en")
    finally:
        plots.FRAME_ENCODING = {CHOSEN!r}
"""


def _notebook(path: Path) -> list[tuple[str, str]]:
    """Writes the notebook; returns (explorer, variant) per output, in page order."""
    import nbformat
    cells, order = [nbformat.v4.new_code_cell(SETUP)], []
    for name in FIRST_SLIDER:
        for encoding in ENCODINGS:
            cells.append(nbformat.v4.new_code_cell(f"live({name!r}, {encoding!r})"))
            order.append((name, encoding))
        cells.append(nbformat.v4.new_code_cell(f"_ = interact_widget(EXPLORERS[{name!r}]('en'), FIRST_SLIDER[{name!r}])"))
        order.append((name, "interact"))
    kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}}
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata=kernel), path)
    return order


@contextlib.contextmanager
def jupyterlab(root: Path):
    """JupyterLab on 127.0.0.1 serving ``root``; yields (url, token). The token goes through the
    environment, never argv (where every local user could read it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = secrets.token_hex(24)
    base = root.parent
    settings = base / "settings" / "@jupyterlab"
    for plugin, value in (("docmanager-extension", {"autosave": False}),
                          ("apputils-extension", {"fetchNews": "false", "checkForUpdates": False})):
        target = settings / plugin / ("plugin.jupyterlab-settings" if plugin.startswith("doc") else
                                      "notification.jupyterlab-settings")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    command = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
               "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               f"--LabApp.user_settings_dir={base / 'settings'}", f"--LabApp.workspaces_dir={base / 'workspaces'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    env = dict(os.environ, JUPYTER_TOKEN=token, JUPYTER_RUNTIME_DIR=str(base / "runtime"))
    log = open(base / "lab.log", "w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):  # noqa: S310
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n" + (base / "lab.log").read_text()[-3000:])
                time.sleep(0.3)
        yield url, token
    finally:
        import psutil
        children = psutil.Process(process.pid).children(recursive=True)
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        for child in children:
            with contextlib.suppress(Exception):
                child.kill()
        log.close()


_RUN_ALL = """async (path) => {
  const app = window.jupyterapp;
  await app.started; await app.restored;
  for (let i = 0; i < 600; i++) {
    const w = app.shell.currentWidget;
    if (w && w.context && w.context.path === path) { await w.context.ready; await w.sessionContext.ready; break; }
    await new Promise(r => setTimeout(r, 100));
  }
  await app.commands.execute('notebook:run-all-cells');
}"""

_DONE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.model.cells;
  let pending = 0, errors = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    if (cell.executionCount === null) pending += 1;
    for (let j = 0; j < cell.outputs.length; j++) {
      const o = cell.outputs.get(j).toJSON();
      if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
    }
  }
  const kernel = panel.sessionContext.session.kernel;
  const images = panel.node.querySelectorAll('.jp-Cell .jp-OutputArea-output img').length;
  return {pending, errors, idle: kernel.status === 'idle', images};
}"""

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
_KERNEL_TIMES = """async () => {
  const code = `import gc, json, statistics
from lossviz.widgets import Explorer
print(json.dumps({f"{type(e).name}/{e.live.encoding}": 1e3 * statistics.median(list(e.update_seconds)[4:] or [0])
                  for e in gc.get_objects() if issubclass(type(e), Explorer) and len(getattr(e, "update_seconds", ())) > 5}))`;
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code});
  let text = '';
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') text += msg.content.text;
    if (msg.header.msg_type === 'error') text += JSON.stringify({error: msg.content.ename + ': ' + msg.content.evalue});
  };
  await future.done;
  return text;
}"""


def _press(page, index: int, direction: dict) -> dict:
    handle = page.locator(".jp-Cell .jp-OutputArea-output:has(.noUi-handle)").nth(index).locator(".noUi-handle").first
    position = page.evaluate(_ARM, [index, PRESS_TIMEOUT_MS])
    if position["now"] >= position["max"] - 1e-9:
        direction[index] = "ArrowLeft"
    elif position["now"] <= position["min"] + 1e-9:
        direction[index] = "ArrowRight"
    handle.press(direction.setdefault(index, "ArrowRight"))
    return page.evaluate("() => window.__lossvizPending")


def _burst(page, index: int, direction: dict) -> dict:
    handle = page.locator(".jp-Cell .jp-OutputArea-output:has(.noUi-handle)").nth(index).locator(".noUi-handle").first
    position = {key: float(handle.get_attribute(f"aria-value{key}")) for key in ("now", "min", "max")}
    # towards the farther end, so that every press of the burst moves the slider
    key = "ArrowRight" if position["max"] - position["now"] >= position["now"] - position["min"] else "ArrowLeft"
    page.evaluate(_ARM_BURST, [index, 800])
    handle.focus()
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
        with jupyterlab(root) as (url, token), sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=["--no-sandbox", "--disable-gpu", "--headless=new"])
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.goto(f"{url}/lab/tree/bench.ipynb?reset&token={token}")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=120_000)
            page.evaluate(_RUN_ALL, "bench.ipynb")
            deadline = time.monotonic() + 300
            while True:
                state = page.evaluate(_DONE)
                if state["errors"]:
                    raise RuntimeError(f"the benchmark notebook failed: {state['errors']}")
                if not state["pending"] and state["idle"] and state["images"] >= len(order):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the benchmark notebook did not finish: {state}")
                time.sleep(0.5)
            direction = {}
            for name in FIRST_SLIDER:
                variants = [(i, key) for i, key in enumerate(order) if key[0] == name]
                for _ in range(WARMUP):
                    for index, _key in variants:
                        _press(page, index, direction)
                for round_ in range(presses):
                    for index, key in variants:
                        if key[1] in (CHOSEN, "interact") or round_ < encoding_presses:
                            results[key].append(_press(page, index, direction))
                for index, key in variants:
                    if key[1] in (CHOSEN, "interact"):
                        bursts[key] = _burst(page, index, direction)
            kernel_ms = page.evaluate(_KERNEL_TIMES)
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


def report(measured: dict, presses: int, encoding_presses: int) -> str:
    results, bursts, kernel_ms = measured["results"], measured["bursts"], measured["kernel_ms"]
    rows, encoding_rows, all_live, all_interact = [], [], [], []
    for name in FIRST_SLIDER:
        live, live_bytes, live_lost = _stats(results[(name, CHOSEN)])
        slow, slow_bytes, slow_lost = _stats(results[(name, "interact")])
        all_live.append(live)
        all_interact.append(slow)
        burst, slow_burst = bursts.get((name, CHOSEN), {}), bursts.get((name, "interact"), {})
        rows.append([name, len(live), f"{np.median(live):.1f}", f"{np.percentile(live, 95):.1f}",
                     f"{kernel_ms.get(f'{name}/{CHOSEN}', float('nan')):.1f}", f"{np.mean(live_bytes) / 1024:.1f}", f"{np.median(slow):.0f}", f"{np.percentile(slow, 95):.0f}",
                     f"{np.mean(slow_bytes) / 1024:.1f}", f"{np.median(slow) / np.median(live):.1f}x",
                     f"{burst.get('frames', '-')} / {burst.get('ms', float('nan')):.0f}",
                     f"{slow_burst.get('frames', '-')} / {slow_burst.get('ms', float('nan')):.0f}",
                     str(live_lost + slow_lost)])
        for encoding in ENCODINGS:
            times, sizes, lost = _stats(results[(name, encoding)])
            encoding_rows.append([name, encoding, len(times), f"{np.median(times):.1f}", f"{np.percentile(times, 95):.1f}",
                                  f"{kernel_ms.get(f'{name}/{encoding}', float('nan')):.1f}",
                                  f"{np.mean(sizes) / 1024:.1f}", str(lost)])
    live, slow = np.concatenate(all_live), np.concatenate(all_interact)
    rows.append(["all five", len(live), f"{np.median(live):.1f}", f"{np.percentile(live, 95):.1f}", "", "",
                 f"{np.median(slow):.0f}", f"{np.percentile(slow, 95):.0f}", "", f"{np.median(slow) / np.median(live):.1f}x",
                 "", "", ""])
    headers = ["explorer", "presses", "median ms", "p95 ms", "of which kernel ms", "KB/frame", "interact median ms", "interact p95 ms",
               "interact KB", "speed-up (medians)", f"burst of {BURST}: frames / ms", "interact burst", "timeouts"]
    encoding_headers = ["explorer", "frame encoding", "presses", "median ms", "p95 ms", "kernel ms", "KB/frame",
                        "timeouts"]
    return ("## End to end in the browser: key press -> new figure decoded (JupyterLab + Chromium)\n\n"
            f"Explorers send {CHOSEN!r} frames; each press on the first slider alternates with the same press on an "
            "`interact` cell showing the same figure.\n\n" + table(headers, rows)
            + f"\n\nFrame encodings compared end to end ({encoding_presses} presses each, interleaved):\n\n"
            + table(encoding_headers, encoding_rows) + "\n")


def main(presses: int = 50, encoding_presses: int = 20) -> str:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
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
