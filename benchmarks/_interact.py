"""The `interact` way of showing an explorer's figure, for comparison: a new figure per update.

``interact_png(explorer, values)`` does what an `interact` callback with a fresh figure does:
build the figure, compute, draw everything, save a PNG at the figure's own pixel density.
``interact_widget(explorer, control_name)`` is that callback behind `ipywidgets.interact`, with
a slider like the explorer's, showing the same figure in the same size.
"""
import io

import ipywidgets
from IPython.display import Image, display


def interact_png(explorer, values) -> bytes:
    fresh = type(explorer).__new__(type(explorer))
    fresh.__dict__.update({key: explorer.__dict__[key] for key in ("language", "controls", "_drawn", "_quiet")})
    figure, _ = fresh.build_figure()
    fresh.draw(fresh.compute(**values))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def interact_widget(explorer, control_name: str):
    """`interact` with a copy of the explorer's slider ``control_name`` (readout on, as interact has it)."""
    control = explorer.controls[control_name]
    options = {key: getattr(control, key) for key in ("min", "max", "step", "value", "description")}
    if hasattr(control, "base"):
        options["base"] = control.base
    slider = type(control)(continuous_update=True, **options)

    def show(value):
        display(Image(data=interact_png(explorer, {**explorer.values(), control_name: value})))

    return ipywidgets.interact(show, value=slider)
