"""The explorers as a reader meets them: JupyterLab in Chromium, Run All, drag a slider, see the figure move.

One JupyterLab (from this venv, on a copy of notebooks/ in a temporary folder, so nothing committed
is touched) and one Chromium (Debian's, driven by Playwright) serve every case of this module.

For each notebook it opens ``/lab/tree/<path>``, clears the stored outputs, runs every cell, and
waits until every code cell has an execution count and the kernel is idle. In the explorer
notebooks it then finds the first explorer (the widget output that holds an ``<img>``), checks it
fits the output area, presses ArrowRight on the first slider's handle and waits for a new figure.
Screenshots land in test-output/browser/ (git-ignored): the page before and after, and the explorer.

Environment:
  LOSSVIZ_CHROMIUM          the browser (default /usr/bin/chromium); missing -> skip
  LOSSVIZ_REQUIRE_BROWSER=1 a missing browser or Playwright fails instead of skipping (CI)
  LOSSVIZ_BROWSER_NOTEBOOK  the explorer notebook's name under en/ and ko/ (default
                            02_where_sigmoid_bce_breaks), e.g. 00_explorers
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SCREENSHOTS = ROOT / "test-output" / "browser"
CHROMIUM = os.environ.get("LOSSVIZ_CHROMIUM", "/usr/bin/chromium")
REQUIRE = os.environ.get("LOSSVIZ_REQUIRE_BROWSER") == "1"
EXPLORER_NOTEBOOK = os.environ.get("LOSSVIZ_BROWSER_NOTEBOOK", "02_where_sigmoid_bce_breaks").removesuffix(".ipynb")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
VIEWPORT = {"width": 1366, "height": 900}
NARROW_VIEWPORT = {"width": 900, "height": 900}  # file browser open: an output area of about 470 px
IMAGE_MARGIN_SLACK_PX = 0  # the explorer sets margin="0" on its Image (ipywidgets adds 2 px a side otherwise)
LAB_START_S = 90      # JupyterLab answering /api/status
PAGE_READY_S = 90     # the notebook open and its kernel connected
RUN_ALL_S = 120       # every code cell executed
FIGURE_S = 30         # a new figure after the slider moved
ARROW_PRESSES = 3

pytestmark = pytest.mark.browser


# --- the browser and the server ------------------------------------------------------------------

def _unavailable(reason: str):
    """Skip, or fail where the browser test must run (LOSSVIZ_REQUIRE_BROWSER=1)."""
    if REQUIRE:
        pytest.fail(f"LOSSVIZ_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(f"{reason} (set LOSSVIZ_REQUIRE_BROWSER=1 to make this a failure)")


@pytest.fixture(scope="module")
def chromium_path():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"no Chromium at {CHROMIUM} (install Debian's chromium, or point LOSSVIZ_CHROMIUM at one)")
    if importlib.util.find_spec("playwright") is None:
        _unavailable("the playwright package is not installed in this environment")
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (localhost only)
        return response.status, response.read()


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def _stop_process_tree(process: subprocess.Popen) -> None:
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


@pytest.fixture(scope="module")
def lab(chromium_path, tmp_path_factory):
    """JupyterLab from this venv on a copy of notebooks/: yields {'url', 'token', 'root'}."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = base / "user-settings"
    # No autosave (the copy is thrown away anyway), no news or update checks, every cell rendered.
    _write_json(settings / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings", {"autosave": False})
    _write_json(settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings",
                {"fetchNews": "false", "checkForUpdates": False})
    jupyter = Path(sys.executable).parent / "jupyter"
    port = _free_port()
    token = secrets.token_hex(24)
    command = [
        str(jupyter), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={base / 'workspaces'}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(base / "runtime"), PYTHONUNBUFFERED="1")
    env.pop("JUPYTER_TOKEN", None)
    log_path = base / "jupyterlab.log"
    log = open(log_path, "w", encoding="utf-8")
    process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + LAB_START_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                if _get(f"{url}/api/status?token={token}", timeout=2)[0] == 200:
                    break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within {LAB_START_S} s:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.25)
        yield {"url": url, "token": token, "root": root, "log": log_path}
    finally:
        _stop_process_tree(process)
        log.close()


def _fontconfig_with_hangul(directory: Path) -> Path | None:
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


@pytest.fixture(scope="module")
def browser(chromium_path, tmp_path_factory):
    """One Chromium with a fresh profile for the whole module (a Playwright persistent context)."""
    from playwright.sync_api import sync_playwright

    base = tmp_path_factory.mktemp("chromium")
    env = dict(os.environ)
    conf = _fontconfig_with_hangul(base)
    if conf is not None:
        env["FONTCONFIG_FILE"] = str(conf)
    playwright = sync_playwright().start()
    try:
        context = playwright.chromium.launch_persistent_context(
            str(base / "profile"), executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS, env=env,
            viewport=VIEWPORT, device_scale_factor=1, locale="en-US", timeout=60_000)
        try:
            yield context
        finally:
            context.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser, lab):
    page = browser.new_page()
    page.set_default_timeout(60_000)
    problems = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.problems = problems
    try:
        yield page
    finally:
        page.close()
        _shutdown_kernels(lab)


def _shutdown_kernels(lab) -> None:
    """Frees the CPU for the next case: every kernel this server started goes."""
    try:
        _, body = _get(f"{lab['url']}/api/kernels?token={lab['token']}")
        for kernel in json.loads(body):
            request = urllib.request.Request(f"{lab['url']}/api/kernels/{kernel['id']}?token={lab['token']}",
                                             method="DELETE")
            urllib.request.urlopen(request, timeout=10).close()  # noqa: S310
    except Exception:
        pass


# --- driving JupyterLab --------------------------------------------------------------------------

# Resolves once the notebook at `path` is the current widget with its kernel connected.
_OPENED = """async ([path, timeoutMs]) => {
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
_RUN_ALL = """async () => {
  const app = window.jupyterapp;
  await app.commands.execute('notebook:clear-all-cell-outputs');
  window.__lossvizRunAll = 'running';
  app.commands.execute('notebook:run-all-cells').then(
    ok => { window.__lossvizRunAll = ok === false ? 'failed' : 'done'; },
    error => { window.__lossvizRunAll = 'error: ' + error; });
}"""

# Where Run All stands: code cells without a count, error outputs, the kernel's status.
_PROGRESS = """() => {
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
  return {code, pending, errors, status: kernel ? kernel.status : 'none', runAll: window.__lossvizRunAll};
}"""

# The first explorer: the widget output holding an <img>, its outermost widget box, their boxes.
_EXPLORER = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const image = panel.node.querySelector('.jp-OutputArea-output img.widget-image');
  if (!image || !image.complete || image.naturalWidth === 0) return null;
  const output = image.closest('.jp-OutputArea-output');
  let root = image;
  while (root.parentElement && root.parentElement !== output
         && root.parentElement.classList.contains('jupyter-widgets')) root = root.parentElement;
  const box = e => { const r = e.getBoundingClientRect(); return {left: r.left, right: r.right, width: r.width}; };
  return {src: image.src, root: box(root), output: box(output), image: box(image),
          scroll: output.scrollWidth, client: output.clientWidth, rootScroll: root.scrollWidth,
          rootClient: root.clientWidth, rootClass: root.className,
          imageStyle: (({marginLeft, marginRight, boxSizing}) => ({marginLeft, marginRight, boxSizing}))(getComputedStyle(image)),
          rootOverflow: getComputedStyle(root).overflowX, outputOverflow: getComputedStyle(output).overflowX};
}"""


def _notebook_text_problems(page) -> list[str]:
    text = page.evaluate("() => window.jupyterapp.shell.currentWidget.node.textContent")
    return [f"the notebook shows {needle!r}" for needle in ("Error displaying widget", "Traceback") if needle in text]


def _open_and_run(page, lab, relpath: str) -> dict:
    """Opens relpath in JupyterLab, runs every cell and waits until all are done and the kernel is idle."""
    page.goto(f"{lab['url']}/lab/tree/{relpath}?reset&token={lab['token']}", wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=PAGE_READY_S * 1000)
    kernel = page.evaluate(_OPENED, [relpath, PAGE_READY_S * 1000])
    assert kernel, f"{relpath}: no kernel started"
    page.evaluate(_RUN_ALL)
    deadline = time.monotonic() + RUN_ALL_S
    while True:
        progress = page.evaluate(_PROGRESS)
        assert not progress["errors"], f"{relpath}: cells raised: {progress['errors']}"
        assert progress["runAll"] in ("running", "done"), f"{relpath}: Run All ended with {progress['runAll']}"
        if progress["code"] and not progress["pending"] and progress["status"] == "idle" and progress["runAll"] == "done":
            return progress
        if time.monotonic() > deadline:
            pytest.fail(f"{relpath}: Run All unfinished after {RUN_ALL_S} s: {progress}\n"
                        f"JupyterLab log:\n{lab['log'].read_text(errors='replace')[-3000:]}")
        time.sleep(0.25)


def _explorer(page, timeout_s: float = 30) -> dict:
    deadline = time.monotonic() + timeout_s
    while (found := page.evaluate(_EXPLORER)) is None:
        if time.monotonic() > deadline:
            pytest.fail("no explorer: no widget output with a loaded <img> after Run All")
        time.sleep(0.2)
    return found


@contextlib.contextmanager
def _screenshot_on_failure(page, name: str):
    try:
        yield
    except BaseException:
        try:
            _screenshot(page, f"{name}-failure")
        except Exception:
            pass
        raise


def _screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


# --- the tests -----------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "ko"])
def test_explorer_redraws_when_a_slider_moves(page, lab, lang):
    relpath = f"{lang}/{EXPLORER_NOTEBOOK}.ipynb"
    if not (lab["root"] / relpath).is_file():
        pytest.fail(f"notebooks/{relpath} does not exist (LOSSVIZ_BROWSER_NOTEBOOK=00_explorers tests another)",
                    pytrace=False)
    name = f"{lang}-{EXPLORER_NOTEBOOK}"
    with _screenshot_on_failure(page, name):
        progress = _open_and_run(page, lab, relpath)
        _explorer(page)  # waits for the widget's first figure
        output = page.locator(".jp-OutputArea-output", has=page.locator("img.widget-image")).first
        explorer = output.locator(".widget-vbox").first  # the outermost box: controls, message, figure
        image = output.locator("img.widget-image").first
        explorer.scroll_into_view_if_needed()
        page.wait_for_timeout(300)  # let the scroll settle before the pictures
        before = _explorer(page)
        print(f"{relpath}: explorer {before['rootClass']!r}, box {before['root']}, output area {before['output']}")

        # It fits the notebook: no wider than its output area, and nothing there scrolls sideways.
        assert before["root"]["width"] <= before["output"]["width"] + 1, f"explorer wider than its output area: {before}"
        assert before["root"]["right"] <= before["output"]["right"] + 1, f"explorer sticks out of its output area: {before}"
        assert before["scroll"] <= before["client"] + 1, f"the output area scrolls sideways: {before}"

        _screenshot(page, f"{name}-before")
        explorer.screenshot(path=str(SCREENSHOTS / f"{name}-explorer-before.png"))
        figure_before = image.screenshot()

        # Move the first slider as a person would: click its handle (which focuses it), press ArrowRight.
        handle = output.locator(".noUi-handle").first
        value_before = handle.get_attribute("aria-valuenow")
        handle.click()
        for _ in range(ARROW_PRESSES):
            page.keyboard.press("ArrowRight")
        page.wait_for_function(
            """(old) => { const img = window.jupyterapp.shell.currentWidget.node
                            .querySelector('.jp-OutputArea-output img.widget-image');
                          return img && img.src !== old && img.complete && img.naturalWidth > 0; }""",
            arg=before["src"], timeout=FIGURE_S * 1000)
        page.wait_for_timeout(200)
        after = _explorer(page)
        value_after = handle.get_attribute("aria-valuenow")
        figure_after = image.screenshot()
        explorer.screenshot(path=str(SCREENSHOTS / f"{name}-explorer-after.png"))
        _screenshot(page, f"{name}-after")

        assert value_after != value_before, f"the slider did not move: {value_before!r} -> {value_after!r}"
        assert after["src"] != before["src"], "the <img> got no new figure"
        assert figure_after != figure_before, "the figure's pixels did not change after the slider moved"
        assert after["root"]["width"] <= after["output"]["width"] + 1, f"explorer wider than its output area: {after}"

        # In a narrow window (output area below the figure's 800 px) it shrinks rather than sticking out.
        page.set_viewport_size(NARROW_VIEWPORT)
        page.wait_for_timeout(500)
        explorer.scroll_into_view_if_needed()
        narrow = _explorer(page)
        _screenshot(page, f"{name}-narrow")
        assert narrow["output"]["width"] < before["root"]["width"], f"the narrow window is not narrow: {narrow}"
        assert narrow["root"]["right"] <= narrow["output"]["right"] + 1, f"narrow: explorer sticks out: {narrow}"
        # The <img> is width 100% plus ipywidgets' 2 px margins, so it overhangs its box by up to 4 px (white
        # figure border, clipped). Tolerated here; Layout(margin="0") on the Image would make it exact.
        overhang = narrow["rootScroll"] - narrow["rootClient"]
        assert overhang <= IMAGE_MARGIN_SLACK_PX, f"narrow: the figure overhangs the explorer by {overhang} px: {narrow}"
        assert narrow["image"]["right"] <= narrow["output"]["right"] + IMAGE_MARGIN_SLACK_PX, f"narrow: figure sticks out: {narrow}"
        assert narrow["scroll"] <= narrow["client"] + 1, f"narrow: the output area scrolls sideways: {narrow}"

        problems = _notebook_text_problems(page) + page.problems
        assert not problems, f"{relpath}: {problems}"
        assert progress["code"] > 0


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_start_here_runs_cleanly(page, lab, lang):
    relpath = f"{lang}/00_start_here.ipynb"
    name = f"{lang}-00_start_here"
    with _screenshot_on_failure(page, name):
        _open_and_run(page, lab, relpath)
        page.wait_for_timeout(300)
        _screenshot(page, f"{name}-end")  # Run All leaves the last cell in view
        page.locator(".jp-Notebook .jp-Cell").first.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        _screenshot(page, f"{name}-top")
        problems = _notebook_text_problems(page) + page.problems
        assert not problems, f"{relpath}: {problems}"


def test_every_explorer_redraws_and_draws_what_is_typed(page, lab):
    """00_explorers holds all five explorers: in each, the first slider, moved by keyboard, redraws its figure
    and its box follows; then typed values: 19 into pos_weight is drawn as 19 (not the slider's 19.95),
    1e30 into K, nan into the logit range and 1e-30 into pos_weight are refused with a message naming
    the allowed range, and each box goes back to the value drawn."""
    relpath = "en/00_explorers.ipynb"
    with _screenshot_on_failure(page, "en-00_explorers-all"):
        _open_and_run(page, lab, relpath)
        _explorer(page)
        outputs = page.locator(".jp-OutputArea-output", has=page.locator("img.widget-image"))
        assert outputs.count() == 5, f"{relpath}: expected five explorers, found {outputs.count()}"
        for index in range(5):
            output = outputs.nth(index)
            image = output.locator("img.widget-image").first
            output.scroll_into_view_if_needed()
            page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle(),
                                   timeout=FIGURE_S * 1000)
            source_before = image.get_attribute("src")
            handle = output.locator(".noUi-handle").first
            box = output.locator("input[type=text]").first  # the slider's box, its readout
            box_before = box.input_value()
            handle.click()
            for _ in range(ARROW_PRESSES):
                page.keyboard.press("ArrowRight")
            page.wait_for_function("([img, old]) => img.src !== old && img.complete && img.naturalWidth > 0",
                                   arg=[image.element_handle(), source_before], timeout=FIGURE_S * 1000)
            # (aria-valuenow is rounded to one decimal for a float slider: the box says where it is)
            assert box.input_value() != box_before, f"explorer {index + 1}: the slider moved, its box did not follow"
            message = output.locator(".widget-html").first.inner_text()
            assert "⚠" not in message, f"explorer {index + 1} shows a message after a slider move: {message!r}"
        _screenshot(page, "en-00_explorers-all-after")

        # Typing: what is drawn is what was typed, and a refused entry says why and goes back.
        overflow, softmax, pos_weight = outputs.nth(0), outputs.nth(2), outputs.nth(4)
        _type(page, pos_weight, 0, "19")
        page.wait_for_timeout(TYPED_SETTLE_MS)  # the slider's snap to its grid comes back in this time
        assert pos_weight.locator("input[type=text]").first.input_value() == "19"
        assert _kernel(page, "imbalance.values()['pos_weight']") == "19.0"
        assert "⚠" not in pos_weight.locator(".widget-html").first.inner_text()
        drawn = {}
        for output, box_index, typed, expected in (
                (softmax, 0, "1e30", "classes K must be a whole number from 2 to 10"),
                (overflow, 1, "nan", "logit range ± must be a number from 0.5 to 10000"),
                (pos_weight, 0, "1e-30", "pos_weight must be a number from 0.1 to 100")):
            shown = output.locator("input[type=text]").nth(box_index).input_value()
            drawn[typed] = shown
            _type(page, output, box_index, typed, new_figure=False)
            message = output.locator(".widget-html").first
            page.wait_for_function("([el, text]) => el.textContent.includes(text)",
                                   arg=[message.element_handle(), expected], timeout=FIGURE_S * 1000)
            page.wait_for_function("([el, text]) => el.value === text",
                                   arg=[output.locator("input[type=text]").nth(box_index).element_handle(), shown],
                                   timeout=FIGURE_S * 1000)
        assert drawn["1e-30"] == "19"
        assert _kernel(page, "softmax.values()['classes'], overflow.values()['logit_range']") == \
            f"{int(drawn['1e30'])} {float(drawn['nan'])}"
        _screenshot(page, "en-00_explorers-typed")
        problems = _notebook_text_problems(page) + page.problems
        assert not problems, f"{relpath}: {problems}"


TYPED_SETTLE_MS = 1500

# Runs `code` in the notebook's kernel; resolves to what it printed.
_EXECUTE = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code, silent: false, store_history: false});
  let text = '';
  future.onIOPub = (msg) => { if (msg.header.msg_type === 'stream') text += msg.content.text; };
  await future.done;
  return text;
}"""


def _kernel(page, expression: str) -> str:
    return page.evaluate(_EXECUTE, f"print({expression})").strip()


def _type(page, output, box_index: int, text: str, new_figure: bool = True) -> None:
    """Types ``text`` into the explorer's box ``box_index`` and presses Enter, as a person would."""
    image = output.locator("img.widget-image").first
    source_before = image.get_attribute("src")
    box = output.locator("input[type=text]").nth(box_index)
    box.click()
    box.fill("")
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    if new_figure:
        page.wait_for_function("([img, old]) => img.src !== old && img.complete && img.naturalWidth > 0",
                               arg=[image.element_handle(), source_before], timeout=FIGURE_S * 1000)
