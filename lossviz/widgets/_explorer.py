"""What every explorer shares: controls -> compute -> artists updated in place -> PNG in an Image.

A subclass names its controls, builds its figure once, computes its data from the control values
(vectorised torch) and moves its artists. Everything else is here: the update cycle, the message
line that replaces a traceback, and the display bundle (live widget, PNG, stable text).
"""
from __future__ import annotations

import base64
import math

import ipywidgets

from .. import i18n
from ..plots import LiveFigure


def loss_and_gradient(fn, logits, *args, **kwargs):
    """Element-wise ``fn(logits, *args, **kwargs)`` and its gradient in the logits, as float64 arrays."""
    leaf = logits.detach().clone().requires_grad_()
    loss = fn(leaf, *args, **kwargs)
    loss.sum().backward()
    return loss.detach().double().numpy(), leaf.grad.double().numpy()


class InputProblem(ValueError):
    """A control value the explorer cannot draw; its message is shown in the widget."""


class Explorer:
    """Base class; see the five ``*_explorer`` functions in :mod:`lossviz.widgets`."""

    name = "explorer"
    TEXT: dict = {"en": {}, "ko": {}}

    def __init__(self, lang: str | None = None):
        self.language = i18n.resolve(lang)
        i18n.use_hangul_font()
        self.controls = self.build_controls()
        self.figure, dynamic = self.build_figure()
        self.live = LiveFigure(self.figure, dynamic)
        width = int(self.figure.get_figwidth() * self.figure.dpi)
        self.image = ipywidgets.Image(format="png", layout=ipywidgets.Layout(width="100%", max_width=f"{width}px", margin="0"))
        self.message = ipywidgets.HTML(layout=ipywidgets.Layout(min_height="1.6em"))
        controls = ipywidgets.HBox(list(self.controls.values()), layout=ipywidgets.Layout(flex_flow="row wrap"))
        self.widget = ipywidgets.VBox([controls, self.message, self.image],
                                      layout=ipywidgets.Layout(width="100%", max_width=f"{width + 20}px"))
        self.data = None
        self.last_error: Exception | None = None
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.refresh(frame_changed=True)

    # --- for subclasses ---------------------------------------------------------------------------
    def build_controls(self) -> dict:
        raise NotImplementedError

    def build_figure(self):
        """Returns (figure, the artists that change on updates)."""
        raise NotImplementedError

    def compute(self, **values) -> dict:
        """Data for the current control values; raises :class:`InputProblem` for values it cannot draw."""
        raise NotImplementedError

    def draw(self, data: dict) -> bool:
        """Moves the artists to ``data``; returns True when limits or ticks changed (a full redraw)."""
        raise NotImplementedError

    # --- the update cycle -------------------------------------------------------------------------
    def t(self, key: str, **fields) -> str:
        """This explorer's string ``key`` in its language (falling back to the shared strings)."""
        table = self.TEXT[self.language]
        template = table[key] if key in table else i18n.SHARED[self.language][key]
        return template.format(**fields) if fields else template

    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def _on_change(self, _change) -> None:
        self.refresh()

    def refresh(self, frame_changed: bool = False) -> bool:
        """Recompute and redraw. On a value it cannot draw, shows why and keeps the last figure."""
        try:
            data = self.compute(**self.values())
            frame_changed = self.draw(data) or frame_changed
            self.image.value = self.live.render(frame_changed)
        except InputProblem as problem:
            self._show(self.t("invalid", reason=problem))
            return False
        except Exception as error:  # a widget callback must never end in a traceback
            self.last_error = error
            self._show(self.t("unexpected", error=f"{type(error).__name__}: {error}"))
            # the artists may be half-updated: redraw everything from the last good data next time
            self.live._background = None
            return False
        self.data = data
        self.message.value = ""
        return True

    def _show(self, text: str) -> None:
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        self.message.value = f'<span style="color:#b00020;font-weight:bold">⚠ {escaped}</span>'

    def number(self, name: str, value, low: float, high: float) -> float:
        """A typed number that must be finite and inside [low, high], else an InputProblem."""
        label = self.controls[name].description or name
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or math.isinf(value):
            raise InputProblem(self.t("not_finite", name=label, value=value))
        if not low <= value <= high:
            raise InputProblem(self.t("out_of_range", name=label, low=low, high=high, value=value))
        return float(value)

    # --- display -------------------------------------------------------------------------------
    def describe(self) -> str:
        settings = ", ".join(f"{name}={value!r}" for name, value in self.values().items())
        return f"{self.name}({settings})"

    def _repr_mimebundle_(self, **kwargs):
        # The live widget for JupyterLab, the current PNG for GitHub and static HTML, and a short
        # stable text (no memory address) that nbval compares.
        bundle = dict(self.widget._repr_mimebundle_(**kwargs))
        bundle["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        bundle["text/plain"] = self.describe()
        return bundle


# --- control factories: one look for every explorer ---------------------------------------------

STYLE = {"description_width": "initial"}


def slider(description, low, high, step, value, **kwargs):
    return ipywidgets.FloatSlider(value=value, min=low, max=high, step=step, description=description,
                                  continuous_update=True, style=STYLE, readout_format=".2f", **kwargs)


def int_slider(description, low, high, value):
    return ipywidgets.IntSlider(value=value, min=low, max=high, description=description,
                                continuous_update=True, style=STYLE)


def log_slider(description, low_exponent, high_exponent, value, step=0.05):
    return ipywidgets.FloatLogSlider(value=value, base=10, min=low_exponent, max=high_exponent, step=step,
                                     description=description, continuous_update=True, style=STYLE,
                                     readout_format=".3g")


def choice(description, options, value):
    return ipywidgets.ToggleButtons(options=options, value=value, description=description, style=STYLE)


def dropdown(description, options, value):
    return ipywidgets.Dropdown(options=options, value=value, description=description, style=STYLE,
                               layout=ipywidgets.Layout(width="max-content"))


def number_box(description, value):
    return ipywidgets.FloatText(value=value, description=description, style=STYLE,
                                layout=ipywidgets.Layout(width="14em"))
