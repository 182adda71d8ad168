"""Execute notebooks with nbclient in the Python that runs this script (a test's own venv).

    python run_notebooks.py RESULT.json [--explore] NOTEBOOK...

Each notebook runs on a fresh kernel with its folder as working directory and the environment of
this process. With --explore, one more cell then moves every control of every explorer the
notebook made (in the kernel: set the control's value, compare the PNG bytes of the explorer's
image before and after). RESULT.json maps each notebook to: error (None when every cell ran),
stderr (what cells wrote there), setup (text and seconds of the setup cell) and explored (control
-> whether the image changed). Kept to what nbclient 0.10 and Python 3.11 have, as on Colab.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

EXPLORE = r'''
import gc, json
import ipywidgets
from lossviz.widgets import Explorer


def _image(explorer):
    found, stack = None, [explorer.widget]
    while stack and found is None:
        widget = stack.pop()
        if isinstance(widget, ipywidgets.Image):
            found = widget
        stack.extend(getattr(widget, "children", ()))
    return getattr(explorer, "image", found)


def _targets(control):
    """Values to set, in order: the first that redraws counts (a typed value may be refused)."""
    if getattr(control, "options", None):  # Dropdown, ToggleButtons
        return [control.options[(control.index + 1) % len(control.options)]]
    value = control.value
    if hasattr(control, "base"):  # FloatLogSlider: min and max are exponents
        return [control.base ** ((control.min + control.max) / 2), control.base ** control.min]
    if hasattr(control, "max"):  # IntSlider, FloatSlider
        target = control.min + 0.75 * (control.max - control.min)
        return [round(target) if isinstance(value, int) else target, control.min]
    number = float(value.replace("\u2212", "-")) if isinstance(value, str) else value
    numbers = [2 * number, number / 2, 0.5, 2.0, 10.0, -1.0]
    return [str(n) if isinstance(value, str) else n for n in numbers if n != number]


def _option_value(control, option):
    return option[1] if isinstance(option, tuple) else option


_moved = {}
_explorers = [o for o in gc.get_objects() if issubclass(type(o), Explorer)]
for _i, _explorer in enumerate(_explorers):
    for _name, _control in _explorer.controls.items():
        _image_widget = _image(_explorer)
        _before = bytes(_image_widget.value)
        _changed = False
        for _target in _targets(_control):
            if getattr(_control, "options", None):
                _control.value = _option_value(_control, _target)
            elif _target != _control.value:
                _control.value = _target
            _changed = bytes(_image_widget.value) != _before
            if _changed:
                break
        _moved[f"{_i}:{type(_explorer).__name__}.{_name}"] = _changed
print("EXPLORED " + json.dumps(_moved))
'''


def seconds(cell) -> float | None:
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    parse = lambda stamp: datetime.fromisoformat(stamp.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def run(path: Path, explore: bool) -> dict:
    nb = nbformat.read(path, as_version=4)
    if explore:
        nb.cells.append(nbformat.v4.new_code_cell(EXPLORE))
    client = NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(path.parent)}})
    result = {"error": None, "stderr": [], "setup": None, "explored": None}
    started = time.monotonic()
    try:
        client.execute()
    except CellExecutionError as error:
        result["error"] = str(error)[-4000:]
    result["seconds"] = round(time.monotonic() - started, 1)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        texts = [out.get("text", "") for out in cell.get("outputs", [])
                 if out.output_type == "stream"]
        result["stderr"] += [out.text for out in cell.get("outputs", [])
                             if out.output_type == "stream" and out.name == "stderr"]
        if cell.get("id") == "lossviz-setup":
            result["setup"] = {"text": "".join(texts), "seconds": seconds(cell)}
        for text in texts:
            if text.startswith("EXPLORED "):
                result["explored"] = json.loads(text.removeprefix("EXPLORED "))
    return result


def main() -> int:
    out, *rest = sys.argv[1:]
    explore = "--explore" in rest
    paths = [Path(arg) for arg in rest if arg != "--explore"]
    results = {str(path): run(path, explore) for path in paths}
    Path(out).write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
