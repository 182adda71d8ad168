"""`make lab` and `make setup` as a laptop meets them.

- tools/lab.py (what `make lab` runs): the token reaches JupyterLab through JUPYTER_TOKEN and is in
  no process's command line; `--ServerApp.port_retries=0`; a taken port stops it with a message
  naming PORT= and no URL; the URL is printed only once the server answers on it.
- tools/make_venv.sh (what `make setup` runs first): the first of python3.11/3.12/3.13 that runs,
  or PYTHON=...; where none runs, which versions work and how to choose one.
- the Makefile: torch from PyTorch's CPU index, pip's progress shown, VENV overridable.
"""

from __future__ import annotations

import os
import re
import secrets
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
LAB = ROOT / "tools" / "lab.py"
MAKE_VENV = ROOT / "tools" / "make_venv.sh"

pytestmark = pytest.mark.venv


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def descendants(pid: int) -> list[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def command_lines() -> dict[int, str]:
    lines = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
    return lines


def status(port: int, token: str | None) -> int:
    headers = {"Authorization": f"token {token}"} if token else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/status", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """tools/lab.py on a free port with a known token, until its URL line appears."""
    port, token = free_port(), secrets.token_hex(24)
    env = dict(os.environ, LOSSVIZ_TOKEN=token, HOME=str(tmp_path_factory.mktemp("home")))
    env.pop("JUPYTER_TOKEN", None)
    process = subprocess.Popen([sys.executable, str(LAB), "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               start_new_session=True)
    url, answered_when_printed, printed = None, None, []
    deadline = time.monotonic() + 120
    while url is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        printed.append(line)
        match = re.search(r"(http://127\.0\.0\.1:\d+/\S+)", line)
        if match:
            url = match[1]
            answered_when_printed = status(port, token)
    yield {"process": process, "port": port, "token": token, "url": url,
           "answered": answered_when_printed, "printed": printed}
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_url_printed_once_the_server_answers(lab):
    assert lab["url"], f"no URL printed: {lab['printed']}"
    assert lab["url"].startswith(f"http://127.0.0.1:{lab['port']}/lab/tree/en/00_start_here.ipynb")
    assert f"token={lab['token']}" in lab["url"]
    assert lab["answered"] == 200, "the URL was printed before the server answered"
    assert sum("http://" in line for line in lab["printed"]) == 1, lab["printed"]


def test_token_reaches_jupyter_through_the_environment_only(lab):
    assert lab["url"], "the server did not start"
    assert status(lab["port"], None) == 403, "the server must refuse requests without the token"
    tree = [lab["process"].pid, *descendants(lab["process"].pid)]
    lines = command_lines()
    server = [pid for pid in tree if "jupyterlab" in lines.get(pid, "")]
    assert server, f"no JupyterLab process among {[lines.get(pid) for pid in tree]}"
    environment = Path(f"/proc/{server[0]}/environ").read_bytes().split(b"\0")
    assert f"JUPYTER_TOKEN={lab['token']}".encode() in environment
    leaks = {pid: line for pid, line in command_lines().items() if lab["token"] in line}
    assert not leaks, f"the token is readable in these command lines: {leaks}"
    assert "--ServerApp.port_retries=0" in lines[server[0]], lines[server[0]]
    assert "--ServerApp.jpserver_extensions=jupyter_nodelay=True" in lines[server[0]], lines[server[0]]


NODELAY_CHECK = """
import asyncio, logging, sys
sys.path.insert(0, sys.argv[1])
from jupyter_server.services.kernels.websocket import KernelWebsocketHandler
calls = []
async def original_open(self, kernel_id):
    calls.append(("open", kernel_id))
KernelWebsocketHandler.open = original_open
import jupyter_nodelay
class App:
    log = logging.getLogger("lab")
jupyter_nodelay._load_jupyter_server_extension(App())
jupyter_nodelay._load_jupyter_server_extension(App())  # loaded twice, wrapped once
class Handler:
    def set_nodelay(self, value):
        calls.append(("nodelay", value))
asyncio.run(KernelWebsocketHandler.open(Handler(), "k1"))
assert calls == [("nodelay", True), ("open", "k1")], calls
"""


def test_kernel_websockets_skip_nagles_wait():
    """tools/jupyter_nodelay.py: TCP_NODELAY before the kernel websocket opens (a widget update
    otherwise waits up to 40 ms for the browser's delayed acknowledgement)."""
    subprocess.run([sys.executable, "-c", NODELAY_CHECK, str(LAB.parent)], check=True, timeout=120)


def test_taken_port_is_reported_with_port_option(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, str(LAB), "--port", str(port)], capture_output=True,
                              text=True, timeout=60, env=dict(os.environ, HOME=str(tmp_path)))
    assert done.returncode != 0
    assert f"port {port} is taken" in done.stderr and f"PORT={port + 1}" in done.stderr, done.stderr
    assert "http://" not in done.stdout, "a URL was printed for a server that never started"


def fake_python(folder: Path, name: str, works_as: str | None) -> None:
    """`name` on PATH: a pyenv-like shim that fails, or the real Python under that name."""
    path = folder / name
    if works_as is None:
        path.write_text(f"#!/bin/sh\necho 'pyenv: {name}: command not found' >&2\nexit 127\n")
        path.chmod(0o755)
    else:
        path.symlink_to(works_as)


def make_venv(venv: Path, path_dir: Path, *python: str) -> subprocess.CompletedProcess:
    return subprocess.run(["/bin/sh", str(MAKE_VENV), str(venv), *python], capture_output=True,
                          text=True, timeout=300, env={"PATH": str(path_dir), "HOME": str(path_dir)})


def test_no_supported_python_says_which_and_how(tmp_path):
    for name in ("python3.11", "python3.12", "python3.13"):
        fake_python(tmp_path, name, None)
    done = make_venv(tmp_path / "venv", tmp_path)
    assert done.returncode == 1 and not (tmp_path / "venv").exists()
    for words in ("3.11, 3.12 or 3.13", "PYTHON=python3.12", "none of python3.11"):
        assert words in done.stderr, done.stderr


def test_first_python_that_runs_is_taken(tmp_path):
    fake_python(tmp_path, "python3.11", None)  # on PATH, but does not run
    fake_python(tmp_path, "python3.12", sys.executable)
    done = make_venv(tmp_path / "venv", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "with python3.12" in done.stdout
    assert (tmp_path / "venv" / "bin" / "python").exists()


def test_python_outside_the_supported_range_is_refused(tmp_path):
    old = tmp_path / "python3.10"  # answers like Python 3.10: its version, and False for >= 3.11
    old.write_text('#!/bin/sh\ncase "$2" in *print*) echo 3.10 ;; *) exit 1 ;; esac\n')
    old.chmod(0o755)
    done = make_venv(tmp_path / "venv", tmp_path, str(old))
    assert done.returncode == 1 and not (tmp_path / "venv").exists()
    assert f"PYTHON={old} is Python 3.10" in done.stderr, done.stderr
    assert "3.11, 3.12 or 3.13" in done.stderr, done.stderr


def make_dry_run(*args: str) -> str:
    done = subprocess.run(["make", "-n", "-B", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_setup_takes_torch_from_the_cpu_index_and_shows_progress(tmp_path):
    venv = tmp_path / "elsewhere"
    commands = make_dry_run("setup", f"VENV={venv}", "PYTHON=python3.12")
    assert f"tools/make_venv.sh {venv} python3.12" in commands
    torch_line = next(line for line in commands.splitlines() if line.endswith(" torch"))
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in torch_line
    assert "-c constraints.txt" in torch_line
    assert f"{venv}/bin/python -m pip install -c constraints.txt -e '.[notebooks,test]'" in commands
    assert "--quiet" not in commands and " -q " not in commands, "pip's progress must show"
    assert ".venv" not in commands.replace(str(venv), ""), "VENV= must replace .venv everywhere"


def test_lab_runs_the_safe_starter():
    commands = make_dry_run("lab", "VENV=/nonexistent", "PORT=9999", "START=ko/00_start_here.ipynb")
    assert "/nonexistent/bin/python tools/lab.py --port 9999 --start ko/00_start_here.ipynb" in commands
    assert "token" not in commands.lower().split("tools/lab.py")[-1]
