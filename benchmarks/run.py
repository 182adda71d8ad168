"""`make bench`: prints every benchmark table (accuracy, speed, widget latency).

The accuracy table's exact (mpmath) values are cached on disk (lossviz._exact_cache): the first
run computes them (a minute or more), later runs read them in about a second.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import accuracy  # noqa: E402
import speed  # noqa: E402
import diagnose_overhead  # noqa: E402

SECTIONS = [accuracy.main, speed.main, diagnose_overhead.main]
try:
    import widget_latency  # noqa: E402

    SECTIONS.append(widget_latency.main)
except ModuleNotFoundError as missing:
    if missing.name != "widget_latency":
        raise
import browser_latency  # noqa: E402  (end to end in JupyterLab + Chromium; skipped without Chromium)

SECTIONS.append(browser_latency.main)

if __name__ == "__main__":
    for section in SECTIONS:
        print(section(), flush=True)
