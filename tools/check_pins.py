"""Check that constraints.txt resolves to wheels on every Python that `make lab` accepts.

    python tools/check_pins.py              # 3.11, 3.12 and 3.13
    python tools/check_pins.py 3.13         # only these

pip resolves lossviz with its `notebooks` and `test` extras under the pins, as `make setup` does,
but for another Python (`--python-version`, wheels only, nothing installed: `--dry-run`). It reads
the metadata the index publishes beside each wheel, so it downloads little. A pin without a wheel
for one of these Pythons fails here instead of on a student's laptop.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHONS = ("3.11", "3.12", "3.13")


def resolve(version: str) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
             "--only-binary=:all:", f"--python-version={version}",
             "--target", str(Path(scratch) / "target"), "--report", str(report),
             "-c", str(ROOT / "constraints.txt"), f"{ROOT}[notebooks,test]"],
            capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            return False, done.stderr[-3000:]
        installed = json.loads(report.read_text())["install"]
        return True, f"{len(installed)} packages"


def main(argv: list[str]) -> int:
    failed = 0
    for version in argv or PYTHONS:
        ok, detail = resolve(version)
        print(f"Python {version}: {'resolves' if ok else 'does NOT resolve'} ({detail})")
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
