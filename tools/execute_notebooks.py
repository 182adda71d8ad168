"""Re-execute the lossviz notebooks in place, storing outputs and widget state.

    python tools/execute_notebooks.py notebooks              # every notebooks/{en,ko}/*.ipynb
    python tools/execute_notebooks.py notebooks a.ipynb ...  # only these files
    python tools/execute_notebooks.py notebooks -j 1         # one at a time

Notebooks are committed executed (see DESIGN.md, "Notebooks and nbval"), so this is what
`make execute` runs. Each notebook gets a fresh kernel, runs with its own folder as the
working directory, and is written back only if every cell succeeded; a failing cell stops
that notebook with its name and cell index, and the script exits non-zero at the end.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
import zmq
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from traitlets.config import Config

CELL_TIMEOUT_S = 300

# The same kernelspec and language_info on every notebook, whoever executed it where, so that
# re-running does not rewrite the metadata (the Python patch version would change otherwise).
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LANGUAGE_INFO = {
    "name": "python",
    # nbconvert highlights code with these; they do not change between Python versions.
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}


class NotebookFailed(Exception):
    """A cell failed. Holds a plain message, so it pickles back from a worker process."""


def find_notebooks(root: Path) -> list[Path]:
    return sorted(root.glob("en/*.ipynb")) + sorted(root.glob("ko/*.ipynb"))


def normalize_metadata(nb: nbformat.NotebookNode) -> None:
    """Make the stored metadata the same on every run, for small diffs."""
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = dict(LANGUAGE_INFO)
    for cell in nb.cells:
        # Timestamps of the last run: they change every time and say nothing to a reader.
        cell.metadata.pop("execution", None)


def execute_one(path: str) -> float:
    """Execute one notebook in place; return the seconds it took. Runs in a worker process."""
    start = time.perf_counter()
    nb_path = Path(path)
    nb = nbformat.read(nb_path, as_version=4)
    # Drop old widget state first: nbclient only writes it when the new run made widgets,
    # and stale state would describe widgets that no longer exist.
    nb.metadata.pop("widgets", None)

    current = {"index": None}

    def remember_index(cell, cell_index, **_):
        current["index"] = cell_index

    client = NotebookClient(
        nb,
        # "python3" is ipykernel's spec; jupyter_client replaces its argv[0] "python" with
        # sys.executable, so the kernel runs in this interpreter (the venv under `make`).
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        # The notebook's own folder, as when a reader opens it in JupyterLab.
        resources={"metadata": {"path": str(nb_path.parent.resolve())}},
        store_widget_state=True,
        # A progress bar writes "0%", ..., "100%" with carriage returns: merged, the stored text is
        # the final line, as JupyterLab shows it (GitHub and the static site would show every line).
        coalesce_streams=True,
        record_timing=False,
        on_cell_start=remember_index,
        # Encrypt the kernel's loopback sockets where libzmq can (ipykernel otherwise warns
        # "running over TCP without encryption" once per notebook).
        config=Config(
            {"KernelManager": {"transport_encryption": "auto" if zmq.has("curve") else "disabled"}}
        ),
    )
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError) as err:
        raise NotebookFailed(f"{path}: cell {current['index']} failed:\n{err}") from None
    except Exception as err:  # kernel died, could not start, ...: still name the notebook
        raise NotebookFailed(
            f"{path}: {type(err).__name__} at cell {current['index']}: {err}"
        ) from None

    normalize_metadata(nb)
    # Write beside the target and rename, so an interrupted run never leaves half a notebook.
    fd, tmp = tempfile.mkstemp(dir=nb_path.parent, prefix=f".{nb_path.stem}.", suffix=".ipynb")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
        os.replace(tmp, nb_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the notebooks folder (holds en/ and ko/)")
    parser.add_argument("paths", nargs="*", type=Path, help="only these notebooks")
    parser.add_argument(
        "-j", "--jobs", type=int, default=2,
        help="notebooks executed at the same time (default 2: CI has 2 cores)",
    )
    args = parser.parse_args(argv)

    paths = args.paths or find_notebooks(args.root)
    if not paths:
        print(f"no notebooks under {args.root}/en or {args.root}/ko", file=sys.stderr)
        return 1
    missing = [p for p in paths if not p.is_file()]
    if missing:
        print("not found: " + ", ".join(map(str, missing)), file=sys.stderr)
        return 1

    total = time.perf_counter()
    failures: list[str] = []
    # Processes, not threads: each notebook's client then has its own event loop and zmq context.
    # "spawn" so no worker inherits a half-initialised zmq/asyncio state from this process.
    with ProcessPoolExecutor(
        max_workers=max(1, args.jobs), mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        futures = {pool.submit(execute_one, str(p)): p for p in paths}
        for future in as_completed(futures):
            path = futures[future]
            try:
                seconds = future.result()
            except NotebookFailed as err:
                failures.append(str(err))
                print(f"FAILED  {path}", flush=True)
            else:
                print(f"{seconds:6.1f} s  {path}", flush=True)

    print(f"{len(paths)} notebooks in {time.perf_counter() - total:.1f} s, {len(failures)} failed")
    for message in failures:
        print("\n" + message, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
