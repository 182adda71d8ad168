"""overflow_explorer: where the textbook formula and torch's Sigmoid + BCELoss break, per dtype.

Loss and dL/dx over a logit range for four implementations: the textbook formula (inf and NaN,
shaded and named), torch's Sigmoid + BCELoss (finite, but clamped at 100 with a zero gradient),
the logits form and the exact value. Dotted lines mark where sigmoid rounds to 1 and to 0 in the
chosen dtype, computed live by :func:`lossviz.numerics.sigmoid_saturation`.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from .. import naive, numerics, stable
from ..plots import PALETTE, SpanPool, intervals, new_figure, steady_limit
from ._explorer import Explorer, dropdown, loss_and_gradient, number_box, slider

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}
POINTS = 801
RANGE = (0.5, 1e4)
CURVES = ("exact", "stable", "torch", "textbook")


@functools.lru_cache(maxsize=None)
def _saturation(dtype_name: str):
    return numerics.sigmoid_saturation(DTYPES[dtype_name])


class OverflowExplorer(Explorer):
    name = "overflow_explorer"
    TEXT = {
        "en": {"label": "label y", "dtype": "dtype", "range": "logit range ±", "title_loss": "Loss",
               "title_grad": "Gradient dL/dx", "inf": "inf", "nan": "NaN",
               "saturation": "{dtype}: σ(x) = 1 from x = {upper:.6g}, σ(x) = 0 from x = {lower:.6g}"},
        "ko": {"label": "레이블 y", "dtype": "자료형", "range": "로짓 범위 ±", "title_loss": "손실",
               "title_grad": "그래디언트 dL/dx", "inf": "inf", "nan": "NaN",
               "saturation": "{dtype}: x = {upper:.6g}부터 σ(x) = 1, x = {lower:.6g}부터 σ(x) = 0"},
    }

    def build_controls(self):
        return {
            "label": slider(self.t("label"), 0.0, 1.0, 0.05, 0.0),
            "dtype": dropdown(self.t("dtype"), list(DTYPES), "float32"),
            "logit_range": number_box(self.t("range"), 30.0),
        }

    def build_figure(self):
        for dtype in DTYPES:  # find every dtype's saturation points now, not on the first switch
            _saturation(dtype)
        figure, (loss_axes, grad_axes) = new_figure(ncols=2, height=3.6)
        names = {"exact": self.t("exact"), "stable": self.t("logits_form"), "torch": self.t("torch_bce"),
                 "textbook": self.t("textbook")}
        styles = {"exact": dict(color="#bbbbbb", linewidth=5), "stable": dict(color=PALETTE["stable"], linewidth=1.8),
                  "torch": dict(color=PALETTE["torch"], linewidth=1.8, linestyle="--"),
                  "textbook": dict(color=PALETTE["textbook"], linewidth=1.5, linestyle=":")}
        self.lines = {key: (loss_axes.plot([], [], label=names[key], **styles[key])[0],
                            grad_axes.plot([], [], **styles[key])[0]) for key in CURVES}
        self.saturation_lines = [axes.axvline(0, color="#444444", linewidth=1, linestyle=(0, (1, 2)))
                                 for axes in (loss_axes, grad_axes) for _ in range(2)]
        # on the gradient panel the names sit between the 0 and 1 levels the curves settle on
        self.shading = {kind: [SpanPool(loss_axes, PALETTE[kind]), SpanPool(grad_axes, PALETTE[kind], label_height=0.76)]
                        for kind in ("inf", "nan")}
        self.note = loss_axes.text(0.02, 0.86, "", transform=loss_axes.transAxes, fontsize=9, va="top",
                                   bbox=dict(facecolor="white", alpha=0.85, edgecolor="none"))
        for axes, title, ylabel in ((loss_axes, "title_loss", "loss"), (grad_axes, "title_grad", "gradient")):
            axes.set_title(self.t(title))
            axes.set_xlabel(self.t("logit"))
            axes.set_ylabel(self.t(ylabel))
            axes.grid(alpha=0.3)
        grad_axes.set_ylim(-1.15, 1.15)
        figure.legend(loc="outside lower center", ncols=4, fontsize=9, frameon=False)
        self.loss_axes, self.grad_axes = loss_axes, grad_axes
        dynamic = [line for pair in self.lines.values() for line in pair] + self.saturation_lines + [self.note]
        dynamic += [a for pools in self.shading.values() for pool in pools for a in pool.artists]
        return figure, dynamic

    def compute(self, label, dtype, logit_range):
        bound = self.number("logit_range", logit_range, *RANGE)
        kind = DTYPES[dtype]
        x = torch.linspace(-bound, bound, POINTS, dtype=torch.float64).to(kind)
        y = torch.full_like(x, label)
        exact_x = x.double()
        curves = {
            "textbook": loss_and_gradient(naive.binary_cross_entropy_with_logits, x, y, reduction="none"),
            "torch": loss_and_gradient(lambda a: F.binary_cross_entropy(torch.sigmoid(a), y, reduction="none"), x),
            "stable": loss_and_gradient(stable.binary_cross_entropy_with_logits, x, y, reduction="none"),
            # float64 logits form: within 2 float64 ULP of mpmath (tests/test_accuracy.py)
            "exact": (stable.binary_cross_entropy_with_logits(exact_x, y.double(), reduction="none").numpy(),
                      ((1 - label) * torch.sigmoid(exact_x) - label * torch.sigmoid(-exact_x)).numpy()),
        }
        textbook_loss, textbook_grad = curves["textbook"]
        return {"x": exact_x.numpy(), "bound": bound, "dtype": dtype, "curves": curves,
                "saturation": _saturation(dtype),
                "inf": (np.isinf(textbook_loss), np.isinf(textbook_grad)),
                "nan": (np.isnan(textbook_loss), np.isnan(textbook_grad))}

    def draw(self, data):
        x, bound = data["x"], data["bound"]
        # Limits depend on the range alone, so moving the label or switching the dtype is a blit.
        # The loss reaches about the range itself, or torch's clamp at 100 once sigmoid saturates.
        top = steady_limit(None, 1.05 * max(bound, 100.0 if bound > 16 else bound))
        frame_changed = self.loss_axes.get_xlim() != (-bound, bound) or self.loss_axes.get_ylim() != (0.0, top)
        for key, (loss, grad) in data["curves"].items():
            loss_line, grad_line = self.lines[key]
            loss_line.set_data(x, np.where(np.isfinite(loss), loss, np.nan))
            grad_line.set_data(x, np.where(np.isfinite(grad), grad, np.nan))
        if frame_changed:
            self.loss_axes.set_ylim(0.0, top)
            for axes in (self.loss_axes, self.grad_axes):
                axes.set_xlim(-bound, bound)
        upper, lower = data["saturation"]
        for index, line in enumerate(self.saturation_lines):
            where = upper if index % 2 == 0 else lower
            line.set_xdata([where, where])
            line.set_visible(-bound <= where <= bound)
        self.note.set_text(self.t("saturation", dtype=data["dtype"], upper=upper, lower=lower))
        for kind in ("inf", "nan"):
            for pool, mask in zip(self.shading[kind], data[kind]):
                pool.update(intervals(x, mask), self.t(kind))
        return frame_changed
