"""constraints.txt resolves to wheels on Python 3.12 and 3.13 too (tools/check_pins.py), so
`make lab` works on a laptop with either; 3.11 is what this test run itself installed.

pip resolves without installing (`--dry-run`, `--python-version`). A result is kept in the venv
cache under a hash of constraints.txt and pyproject.toml, so unchanged pins are not resolved again.
"""

from __future__ import annotations

import hashlib
import sys

import pytest

from venv_cache import CACHE, ROOT, locked

sys.path.insert(0, str(ROOT / "tools"))
import check_pins  # noqa: E402

pytestmark = pytest.mark.venv


@pytest.mark.parametrize("version", ["3.12", "3.13"])
def test_pins_resolve_on(version):
    digest = hashlib.sha256()
    for name in ("constraints.txt", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    stamp = CACHE / f"pins-{version}-{digest.hexdigest()[:12]}.ok"
    if stamp.is_file():
        return
    with locked("build"):  # pip prepares lossviz's metadata in the tree
        ok, detail = check_pins.resolve(version)
    assert ok, f"constraints.txt does not resolve on Python {version}:\n{detail}"
    for old in CACHE.glob(f"pins-{version}-*.ok"):
        old.unlink()
    stamp.write_text(detail)
