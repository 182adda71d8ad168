"""An on-disk cache for the exact (mpmath) references of large grids, for tests and benchmarks.

Exact values of a 100,000-point grid take mpmath seconds to minutes; the same grid is asked for on
every test run and every benchmark run. ``cached(numerics.exact_bce_with_logits, x, y)`` returns
what the call returns, stored under ``$LOSSVIZ_CACHE_DIR``, else ``$XDG_CACHE_HOME/lossviz``,
else ``~/.cache/lossviz``. ``LOSSVIZ_CACHE=off`` turns it off.

A cache must never make a test pass that should fail, so the key holds everything the result
depends on: the function's name, the source of the module that defines it and of the package
modules it imports (any edit to ``lossviz/numerics.py`` or ``lossviz/_validate.py`` misses the
cache), the mpmath version, and every argument: a tensor by its
dtype, shape and bytes, anything else by its repr (floats repr exactly). A file that cannot be
read is recomputed; a directory that cannot be written is not an error (the value is returned
uncached). The directory is kept under 512 MB, oldest files first.
"""
from __future__ import annotations

import hashlib
import inspect
import os
import sys
import tempfile
from pathlib import Path

import mpmath
import torch

LIMIT_BYTES = 512 * 2 ** 20


def directory() -> Path:
    if os.environ.get("LOSSVIZ_CACHE_DIR"):
        return Path(os.environ["LOSSVIZ_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lossviz"


def enabled() -> bool:
    return os.environ.get("LOSSVIZ_CACHE", "on").lower() not in ("off", "0", "no", "false")


def _module_source(function) -> bytes:
    """The source of the module defining ``function`` and of the package modules it imports."""
    module = sys.modules.get(getattr(function, "__module__", ""), None)
    filename = getattr(module, "__file__", None)
    if not filename:
        raise ValueError(f"cached(): the source of {function!r} cannot be read, so no key can cover it")
    package = module.__name__.split(".")[0]
    helpers = sorted({value.__file__ for value in vars(module).values()
                      if inspect.ismodule(value) and value.__name__.split(".")[0] == package
                      and getattr(value, "__file__", None)})
    return b"".join(Path(name).read_bytes() for name in [filename, *helpers])


def _argument_bytes(value) -> bytes:
    if isinstance(value, torch.Tensor):
        flat = value.detach().to("cpu").contiguous().reshape(-1)
        return b"tensor %s %r " % (str(value.dtype).encode(), tuple(value.shape)) + flat.view(torch.uint8).numpy().tobytes()
    if isinstance(value, (tuple, list)):
        return b"%s[" % type(value).__name__.encode() + b",".join(_argument_bytes(v) for v in value) + b"]"
    return b"%s %s" % (type(value).__name__.encode(), repr(value).encode())


def key(function, args: tuple, kwargs: dict) -> str:
    digest = hashlib.sha256()
    for part in (function.__module__.encode(), function.__qualname__.encode(), _module_source(function),
                 mpmath.__version__.encode(), str(mpmath.libmp.BACKEND).encode()):
        digest.update(part)
        digest.update(b"\0")
    for value in args:
        digest.update(_argument_bytes(value))
        digest.update(b"\0")
    for name in sorted(kwargs):
        digest.update(name.encode() + b"=" + _argument_bytes(kwargs[name]))
        digest.update(b"\0")
    return digest.hexdigest()


def cached(function, *args, **kwargs):
    """``function(*args, **kwargs)``, from the disk cache when the same call was made before."""
    if not enabled():
        return function(*args, **kwargs)
    folder = directory()
    path = folder / f"{function.__name__}-{key(function, args, kwargs)[:40]}.pt"
    try:
        return torch.load(path, weights_only=True)
    except Exception:  # missing, truncated or from an incompatible torch: compute it again
        pass
    result = function(*args, **kwargs)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            torch.save(result, stream)
        os.replace(temporary, path)  # atomic: a parallel reader sees the old file or the whole new one
        _prune(folder, keep=path)
    except OSError:
        pass  # a read-only home: the value is still right, only not kept
    return result


def _prune(folder: Path, keep: Path) -> None:
    files = sorted(folder.glob("*.pt"), key=lambda f: f.stat().st_mtime_ns)
    total = sum(f.stat().st_size for f in files)
    for old in files:
        if total <= LIMIT_BYTES:
            break
        if old == keep:
            continue
        total -= old.stat().st_size
        old.unlink(missing_ok=True)
