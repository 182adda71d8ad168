"""Start JupyterLab on 127.0.0.1 for the notebooks and print its URL once it answers (`make lab`).

    python tools/lab.py [--port 8888] [--start en/00_start_here.ipynb]

- The access token (LOSSVIZ_TOKEN, or a fresh random one) reaches Jupyter through the JUPYTER_TOKEN
  environment variable, never the command line: every local user can read a process's command
  line (ps, /proc/PID/cmdline), only its owner its environment.
- `--ServerApp.port_retries=0`: a taken port stops the server with a message naming PORT=, instead
  of a silent move to the next port while the printed URL still names the first.
- The URL is printed only once the server answers on it.
"""

from __future__ import annotations

import argparse
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

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 120


def port_is_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def answers(port: int, token: str) -> bool:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/status",
                                     headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def port_taken_message(port: int) -> str:
    return (f"lossviz: port {port} is taken (another JupyterLab, or another program). "
            f"Choose another port: make lab PORT={port + 1}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--start", default="en/00_start_here.ipynb",
                        help="the notebook to open, relative to notebooks/")
    parser.add_argument("--root-dir", type=Path, default=ROOT / "notebooks")
    args = parser.parse_args(argv)

    if port_is_taken(args.port):
        print(port_taken_message(args.port), file=sys.stderr)
        return 1
    token = os.environ.get("LOSSVIZ_TOKEN") or secrets.token_hex(24)
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
               f"--port={args.port}", "--ServerApp.port_retries=0",
               f"--ServerApp.root_dir={args.root_dir}",
               f"--ServerApp.default_url=/lab/tree/{args.start}",
               "--ServerApp.jpserver_extensions=jupyter_nodelay=True"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    # tools/ on the path: jupyter_nodelay (a widget update reaches the browser without Nagle's wait)
    python_path = os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, JUPYTER_TOKEN=token, PYTHONPATH=python_path)
    env.pop("LOSSVIZ_TOKEN", None)

    # Ctrl-C reaches the server too (same process group): it asks whether to shut down, and this
    # script waits for it instead of dying first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    server = subprocess.Popen(command, env=env)
    signal.signal(signal.SIGTERM, lambda *_: server.terminate())

    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not answers(args.port, token):
        if server.poll() is not None:
            if port_is_taken(args.port):
                print(port_taken_message(args.port), file=sys.stderr)
            else:
                print(f"lossviz: JupyterLab stopped (exit code {server.returncode}); "
                      f"its messages are above.", file=sys.stderr)
            return server.returncode or 1
        if time.monotonic() > deadline:
            print(f"lossviz: JupyterLab did not answer within {STARTUP_TIMEOUT_S} s.",
                  file=sys.stderr)
            server.terminate()
            return 1
        time.sleep(0.25)

    url = f"http://127.0.0.1:{args.port}/lab/tree/{args.start}?token={token}"
    print(f"\nlossviz: JupyterLab is ready. Open\n\n    {url}\n", flush=True)
    return server.wait()


if __name__ == "__main__":
    sys.exit(main())
