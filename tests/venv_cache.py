"""Virtual environments for the installation tests (marker `venv`), cached between runs.

A venv is keyed by its name, the Python that makes it and what goes into it (the requirement
lines and the text of the constraints files they name), so a changed pin makes a new one and an
unchanged one is reused: the second `make test` spends seconds here, not minutes. They live in
~/.cache/lossviz/venvs (LOSSVIZ_VENV_CACHE chooses another folder); a venv that was being made when
its run was killed has no READY file and is made again. Older venvs of the same name are removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("LOSSVIZ_VENV_CACHE",
                            Path.home() / ".cache" / "lossviz" / "venvs"))
# The Python this test run uses (3.11 in CI), without its venv.
BASE_PYTHON = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"


def read_pins(path: Path) -> dict[str, str]:
    """The `name==version` lines of a constraints file (comments skipped), by canonical name."""
    from packaging.utils import canonicalize_name

    pins = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


@contextlib.contextmanager
def locked(name: str):
    """One process at a time per name (pytest-xdist workers share the cache and the tree)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pip(python: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(python), "-m", "pip", *args], capture_output=True, text=True,
                            timeout=kwargs.pop("timeout", 900), **kwargs)
    if result.returncode != 0:
        raise AssertionError(f"pip {' '.join(args)} failed:\n{result.stdout[-3000:]}\n"
                             f"{result.stderr[-3000:]}")
    return result


def _key(name: str, install: list[str]) -> str:
    digest = hashlib.sha256(f"{name}\n{BASE_PYTHON}\n{sys.version}\n".encode())
    for arg in install:
        digest.update(arg.encode() + b"\n")
        path = ROOT / arg
        if arg.endswith(".txt") and path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cached_venv(name: str, install: list[str]) -> Path:
    """The venv `name` with `pip install *install` done (arguments relative to the repository)."""
    path = CACHE / f"{name}-{_key(name, install)}"
    with locked(name):
        if (path / "READY").is_file():
            return path
        for old in CACHE.glob(f"{name}-*"):
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        subprocess.run([str(BASE_PYTHON), "-m", "venv", str(path)], check=True, timeout=300)
        pip(path / "bin" / "python", "install", *install, cwd=ROOT)
        (path / "READY").touch()
    return path


def freeze(python: Path) -> dict[str, str]:
    """name (lower case) -> version of what is installed in that Python."""
    lines = pip(python, "list", "--format=freeze").stdout.splitlines()
    pairs = (line.split("==", 1) for line in lines if "==" in line)
    return {name.lower().replace("_", "-"): version for name, version in pairs}


def build_wheel(outdir: Path) -> Path:
    """`python -m build` of this repository (sdist, then the wheel from the sdist)."""
    with locked("build"):  # the sdist step writes lossviz.egg-info into the tree
        result = subprocess.run([sys.executable, "-m", "build", "--outdir", str(outdir), str(ROOT)],
                                capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"python -m build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    wheels = sorted(outdir.glob("lossviz-*.whl"))
    assert len(wheels) == 1, f"python -m build made {wheels}"
    return wheels[0]


def copy_with_headers(destination: Path) -> Path:
    """notebooks/ and what tools/notebook_headers.py reads, copied, with the tool applied."""
    sys.path.insert(0, str(ROOT / "tools"))
    import notebook_headers

    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, destination / name)
    shutil.copytree(ROOT / "notebooks", destination / "notebooks")
    shutil.copytree(ROOT / "tools" / "bootstrap", destination / "tools" / "bootstrap")
    assert notebook_headers.main(["--root", str(destination)]) == 0
    return destination / "notebooks"
