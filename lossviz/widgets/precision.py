"""precision_explorer: error in ULPs of three binary cross-entropy implementations, per dtype and y.

torch's BCEWithLogits, the log1p logits form (lossviz.stable) and the same form with
log(1 + e^-|x|), each in the chosen dtype, against the exact value, over x in [-1e4, 1e4] on a
symmetric log axis. The reference is the float64 logits form for the smaller dtypes (within 2
float64 ULP of mpmath, so within 1e-8 of their ULP) and mpmath itself for float64.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from .. import naive, numerics, stable
from ..plots import LINESTYLES, PALETTE, new_figure, note_line, symlog
from ._explorer import Explorer, dropdown, number_box, slider
from .overflow import DTYPES

SHORT_NAMES = {"torch": "torch", "stable": "log1p", "log_form": "log"}
FLOOR, CEILING = 1e-2, 1e9  # a 0-ULP error is drawn at the floor, inf/NaN at the ceiling
IMPLEMENTATIONS = {
    "torch": F.binary_cross_entropy_with_logits,
    "stable": stable.binary_cross_entropy_with_logits,
    "log_form": naive.bce_with_logits_without_log1p,
}


def _grid(dtype):
    # sinh spacing: dense near 0, logarithmic beyond |x| = 1, like the symlog axis it is drawn on
    x = torch.sinh(torch.linspace(float(np.arcsinh(-1e4)), float(np.arcsinh(1e4)), 1201, dtype=torch.float64))
    return x.to(dtype)


@functools.lru_cache(maxsize=64)
def _reference(dtype_name: str, label: float):
    x = _grid(DTYPES[dtype_name]).double()
    y = torch.full_like(x, label)
    if dtype_name == "float64":
        return numerics.exact_bce_with_logits(x, y, split=True)
    return stable.binary_cross_entropy_with_logits(x, y, reduction="none")


class PrecisionExplorer(Explorer):
    name = "precision_explorer"
    BOXES = {"label_text": "label"}
    MIRRORS = ("label_text",)
    TEXT = {
        "en": {"label": "label y", "dtype": "dtype", "title": "Error against the exact loss, in ULPs",
               "ulp": "error in ULPs (log scale)", "one_ulp": "1 ULP",
               "summary": "{dtype}, y = {label:g}: worst error {values}",
               "nonfinite": "not finite at {count} points",
               "zero": "0 ULP is drawn at 10⁻², a non-finite result at 10⁹; x axis: symlog, linear for |x| < 1"},
        "ko": {"label": "레이블 y", "dtype": "자료형", "title": "정확한 손실과의 오차 (ULP 단위)",
               "ulp": "ULP 단위 오차 (로그 눈금)", "one_ulp": "1 ULP",
               "summary": "{dtype}, y = {label:g}: 최대 오차 {values}",
               "nonfinite": "{count}곳에서 유한하지 않음",
               "zero": "0 ULP는 10⁻²에, 유한하지 않은 결과는 10⁹에 그립니다. x축: symlog, |x| < 1에서는 선형"},
    }

    def build_controls(self):
        return {"label": slider(self.t("label"), 0.0, 1.0, 0.05, 0.0),
                "label_text": number_box("", 0.0, width="5em"),
                "dtype": dropdown(self.t("dtype"), list(DTYPES), "float32")}

    def check(self, setting, value):
        return self.check_label(value) if setting == "label" else value

    def build_figure(self):
        figure, (axes,) = new_figure(height=4.0)
        self.note = note_line(figure, lines=2)
        # the second line never changes: it is drawn once, in the cached background
        figure.text(0.006, self.note.get_position()[1] - 0.068, self.t("zero"), ha="left", va="top", fontsize=10,
                    color="#444444")
        names = {"torch": self.t("torch_bce_logits"), "stable": self.t("logits_form"), "log_form": self.t("log_form")}
        widths = {"torch": 2.4, "stable": 1.8, "log_form": 1.6}
        self.lines = {key: axes.plot([], [], label=names[key], color=PALETTE[key], linestyle=LINESTYLES.get(key, "-"),
                                     linewidth=widths[key])[0] for key in IMPLEMENTATIONS}
        axes.axhline(1.0, color="#444444", linewidth=0.8, linestyle=":")
        # named outside the data, at the right edge
        axes.annotate(self.t("one_ulp"), xy=(1, 1.0), xycoords=("axes fraction", "data"), xytext=(4, 0),
                      textcoords="offset points", va="center", fontsize=10, color="#444444")
        axes.set_xlim(-1e4, 1e4)
        axes.set_ylim(FLOOR / 2, CEILING * 3)
        symlog(axes, "x", linthresh=1.0)
        axes.set_yscale("log")
        axes.set_xlabel(self.t("logit"))
        axes.set_ylabel(self.t("ulp"))
        axes.grid(alpha=0.3)
        axes.set_title(self.t("title"))  # static: a title that changed would mean a full redraw
        figure.legend(loc="outside lower center", ncols=3, frameon=False)
        self.axes = axes
        return figure, list(self.lines.values()) + [self.note]

    def compute(self, label, dtype, label_text=None):
        label = self.check("label", label)
        dtype = self.check_dtype(dtype, DTYPES)
        x = _grid(DTYPES[dtype])
        y = torch.full_like(x, label)
        reference = _reference(dtype, float(label))
        errors = {key: numerics.ulp_error(fn(x, y, reduction="none"), reference).numpy()
                  for key, fn in IMPLEMENTATIONS.items()}
        return {"x": x.double().numpy(), "errors": errors, "label": label, "dtype": dtype}

    def draw(self, data):
        worst = []
        for key, errors in data["errors"].items():
            self.lines[key].set_data(data["x"], np.clip(np.nan_to_num(errors, nan=np.inf), FLOOR, CEILING))
            finite = np.isfinite(errors)
            text = f"{SHORT_NAMES[key]} {errors[finite].max():.3g}" if finite.any() else SHORT_NAMES[key]
            if not finite.all():
                text += " (" + self.t("nonfinite", count=int((~finite).sum())) + ")"
            worst.append(text)
        self.note.set_text(self.t("summary", dtype=data["dtype"], label=data["label"], values=" · ".join(worst)))
        return False
