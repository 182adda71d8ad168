"""JupyterLab driven from Python: a server on 127.0.0.1 and the page scripts that run a notebook.

Shared by the browser test (tests/test_browser.py) and the end-to-end benchmark
(benchmarks/browser_latency.py), so both meet JupyterLab the same way: this venv's `jupyter lab`
on a free port, the token through JUPYTER_TOKEN (never argv, where every local user could read
it), no autosave, news or update checks, and the whole process tree (kernels run in sessions of
their own) stopped afterwards. Pages are driven through ``window.jupyterapp``
(``--LabApp.expose_app_in_browser``), with Playwright's sync API.
"""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

CHROMIUM = os.environ.get("LOSSVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


class LabProblem(RuntimeError):
    """JupyterLab did not start, or a notebook did not run; the message says what it showed."""


def chromium_available() -> bool:
    return os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (localhost only)
        return response.status, response.read()


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def stop_process_tree(process: subprocess.Popen) -> None:
    """SIGTERM to the server (it shuts its kernels down), then kill whatever of its tree is left.

    Kernels run in sessions of their own (jupyter_client starts them with start_new_session), so the
    server's process group alone would miss them: the tree is listed before the server goes.
    """
    try:
        import psutil
        descendants = psutil.Process(process.pid).children(recursive=True)
    except Exception:  # psutil missing, or the server already gone
        descendants = []
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    for child in descendants:
        try:
            if child.is_running():
                child.kill()
        except Exception:
            pass
    try:  # anything else still in the server's own process group
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@contextlib.contextmanager
def jupyterlab(root: Path, base: Path, start_s: float = 90):
    """This venv's JupyterLab serving ``root`` (settings, runtime files and log under ``base``);
    yields {'url', 'token', 'root', 'log'}."""
    settings = base / "user-settings"
    # No autosave (the served copy is thrown away anyway), no news or update checks.
    write_json(settings / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings", {"autosave": False})
    write_json(settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings",
               {"fetchNews": "false", "checkForUpdates": False})
    port, token = free_port(), secrets.token_hex(24)
    command = [
        str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={base / 'workspaces'}",
        "--ServerApp.jpserver_extensions=jupyter_nodelay=True",  # as `make lab` runs it (tools/lab.py)
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    tools = str(Path(__file__).resolve().parents[1] / "tools")
    python_path = os.pathsep.join(filter(None, [tools, os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, JUPYTER_TOKEN=token, JUPYTER_RUNTIME_DIR=str(base / "runtime"), PYTHONUNBUFFERED="1",
               PYTHONPATH=python_path)
    log_path = base / "jupyterlab.log"
    log = open(log_path, "w", encoding="utf-8")
    process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_s
        while True:
            if process.poll() is not None:
                raise LabProblem(f"JupyterLab exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                if get(f"{url}/api/status?token={token}", timeout=2)[0] == 200:
                    break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise LabProblem(f"JupyterLab did not answer within {start_s} s:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.25)
        yield {"url": url, "token": token, "root": root, "log": log_path}
    finally:
        stop_process_tree(process)
        log.close()


def shutdown_kernels(lab) -> None:
    """Frees the CPU: every kernel this server started goes."""
    try:
        _, body = get(f"{lab['url']}/api/kernels?token={lab['token']}")
        for kernel in json.loads(body):
            request = urllib.request.Request(f"{lab['url']}/api/kernels/{kernel['id']}?token={lab['token']}",
                                             method="DELETE")
            urllib.request.urlopen(request, timeout=10).close()  # noqa: S310
    except Exception:
        pass


def fontconfig_with_hangul(directory: Path) -> Path | None:
    """A fontconfig file: the system's fonts plus the NanumGothic that koreanize-matplotlib ships.

    Debian's chromium brings no Korean font; without one the Korean notebooks' HTML text (markdown,
    control labels) would be boxes in the screenshots although a reader's own browser shows it.
    """
    spec = importlib.util.find_spec("koreanize_matplotlib")  # finds the folder without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    fonts = Path(next(iter(spec.submodule_search_locations))) / "fonts"
    if not fonts.is_dir():
        return None
    conf = directory / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"  <dir>{fonts}</dir>\n  <cachedir>{directory / 'cache'}</cachedir>\n</fontconfig>\n",
        encoding="utf-8")
    return conf


# --- driving a notebook page ---------------------------------------------------------------------

# Resolves once the notebook at `path` is the current widget with its kernel connected.
OPENED = """async ([path, timeoutMs]) => {
  const app = window.jupyterapp;
  const deadline = Date.now() + timeoutMs;
  await app.started;
  await app.restored;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`${path} did not open within ${timeoutMs} ms`);
    const w = app.shell.currentWidget;
    if (w && w.context && w.context.path === path && w.content && w.content.model) {
      await w.context.ready;
      await w.sessionContext.ready;
      return w.sessionContext.session ? w.sessionContext.session.kernel.name : null;
    }
    await new Promise(resolve => setTimeout(resolve, 100));
  }
}"""

# Clears the stored outputs and execution counts, then starts Run All (not awaited: polled).
RUN_ALL = """async () => {
  const app = window.jupyterapp;
  await app.commands.execute('notebook:clear-all-cell-outputs');
  window.__lossvizRunAll = 'running';
  app.commands.execute('notebook:run-all-cells').then(
    ok => { window.__lossvizRunAll = ok === false ? 'failed' : 'done'; },
    error => { window.__lossvizRunAll = 'error: ' + error; });
}"""

# Where Run All stands: code cells without a count, error outputs, the kernel's status, images shown.
PROGRESS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.model.cells;
  let code = 0, pending = 0;
  const errors = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    code += 1;
    if (cell.executionCount === null || cell.executionCount === undefined) pending += 1;
    for (let j = 0; j < cell.outputs.length; j++) {
      const output = cell.outputs.get(j).toJSON();
      if (output.output_type === 'error') {
        errors.push(`cell ${i}: ${output.ename}: ${output.evalue}`);
      }
    }
  }
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const images = panel.node.querySelectorAll('.jp-Cell .jp-OutputArea-output img').length;
  return {code, pending, errors, images, status: kernel ? kernel.status : 'none', runAll: window.__lossvizRunAll};
}"""

# Runs `code` in the notebook's kernel; resolves to what it printed (an error as a JSON line).
EXECUTE = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code, silent: false, store_history: false});
  let text = '';
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') text += msg.content.text;
    if (msg.header.msg_type === 'error') text += JSON.stringify({error: msg.content.ename + ': ' + msg.content.evalue});
  };
  await future.done;
  return text;
}"""


def open_and_run(page, lab, relpath: str, *, ready_s: float = 90, run_s: float = 120, images: int = 0) -> dict:
    """Opens ``relpath`` in JupyterLab, clears its outputs, runs every cell and waits until all are
    done, the kernel is idle and at least ``images`` images show; returns the last progress."""
    page.goto(f"{lab['url']}/lab/tree/{relpath}?reset&token={lab['token']}", wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=ready_s * 1000)
    if not page.evaluate(OPENED, [relpath, ready_s * 1000]):
        raise LabProblem(f"{relpath}: no kernel started")
    page.evaluate(RUN_ALL)
    deadline = time.monotonic() + run_s
    while True:
        progress = page.evaluate(PROGRESS)
        if progress["errors"]:
            raise LabProblem(f"{relpath}: cells raised: {progress['errors']}")
        if progress["runAll"] not in ("running", "done"):
            raise LabProblem(f"{relpath}: Run All ended with {progress['runAll']}")
        if (progress["code"] and not progress["pending"] and progress["status"] == "idle"
                and progress["runAll"] == "done" and progress["images"] >= images):
            return progress
        if time.monotonic() > deadline:
            raise LabProblem(f"{relpath}: Run All unfinished after {run_s} s: {progress}\n"
                             f"JupyterLab log:\n{lab['log'].read_text(errors='replace')[-3000:]}")
        time.sleep(0.25)


def kernel_output(page, code: str) -> str:
    """What ``code`` prints when run in the open notebook's kernel."""
    return page.evaluate(EXECUTE, code)
