"""overflow_explorer: where the textbook formula and torch's Sigmoid + BCELoss break, per dtype.

Loss and dL/dx over a logit range for four implementations: the textbook formula, torch's
Sigmoid + BCELoss (finite loss, clamped at 100; its gradient is −inf or NaN where the dtype runs
out, e.g. float16 with y = 1 left of −11.09), the logits form and the exact value. Under each
panel a strip names, per curve, every stretch where it is +inf, −inf or NaN (sign included), so
a curve that leaves the plot is never silently missing. Dotted lines mark where sigmoid rounds to
1 and to 0 in the chosen dtype, computed live by :func:`lossviz.numerics.sigmoid_saturation`.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from .. import naive, numerics, stable
from ..plots import (PALETTE, NonFiniteStrip, new_figure, nonfinite_handles, nonfinite_kinds, note_line,
                     steady_limit)
from ._explorer import Explorer, dropdown, loss_and_gradient, number_box, slider

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}
POINTS = 801
RANGE = (0.5, 1e4)
CURVES = ("textbook", "torch", "stable", "exact")


@functools.lru_cache(maxsize=None)
def _saturation(dtype_name: str):
    return numerics.sigmoid_saturation(DTYPES[dtype_name])


class OverflowExplorer(Explorer):
    name = "overflow_explorer"
    BOXES = {"label_text": "label", "logit_range": "logit_range"}
    MIRRORS = ("label_text",)
    TEXT = {
        "en": {"label": "label y", "dtype": "dtype", "range": "logit range ±", "title_loss": "Loss",
               "title_grad": "Gradient dL/dx", "short_textbook": "textbook", "short_torch": "torch BCELoss",
               "short_stable": "logits form", "short_exact": "exact",
               "saturation": "{dtype}: σ(x) rounds to 1 from x = {upper:.6g} and to 0 from x = {lower:.6g} (dotted)."
                             "  Strips: where each curve is ±inf or NaN.",
               "range_why": "narrower shows no saturation; beyond ±10,000 nothing changes, every dtype "
                            "saturates by ±710"},
        "ko": {"label": "레이블 y", "dtype": "자료형", "range": "로짓 범위 ±", "title_loss": "손실",
               "title_grad": "그래디언트 dL/dx", "short_textbook": "교과서 공식", "short_torch": "torch BCELoss",
               "short_stable": "로짓 형태", "short_exact": "정확한 값",
               "saturation": "{dtype}: x = {upper:.6g}부터 σ(x) = 1, x = {lower:.6g}부터 σ(x) = 0 (점선)."
                             "  아래 띠: 각 곡선이 ±inf나 NaN인 곳.",
               "range_why": "더 좁으면 포화가 보이지 않고, ±10,000을 넘으면 달라지는 것이 없습니다. "
                            "모든 자료형이 ±710 안에서 포화됩니다"},
    }

    def build_controls(self):
        return {
            "label": slider(self.t("label"), 0.0, 1.0, 0.05, 0.0),
            "label_text": number_box("", 0.0),
            "dtype": dropdown(self.t("dtype"), list(DTYPES), "float32"),
            "logit_range": number_box(self.t("range"), 30.0),
        }

    def cached_groups(self):
        return self.strips

    def check(self, setting, value):
        if setting == "label":
            return self.check_label(value)
        if setting == "logit_range":
            return self.in_range(setting, value, *RANGE, self.t("range_why"))
        return value

    def build_figure(self):
        for dtype in DTYPES:  # find every dtype's saturation points now, not on the first switch
            _saturation(dtype)
        figure, (loss_axes, grad_axes, loss_strip, grad_strip) = new_figure(
            ncols=2, nrows=2, height=4.6, height_ratios=[3.2, 1.0], sharex="col")
        self.note = note_line(figure)
        names = {"exact": self.t("exact"), "stable": self.t("logits_form"), "torch": self.t("torch_bce"),
                 "textbook": self.t("textbook")}
        styles = {"exact": dict(color="#bbbbbb", linewidth=5), "stable": dict(color=PALETTE["stable"], linewidth=1.8),
                  "torch": dict(color=PALETTE["torch"], linewidth=2.2, linestyle="--"),
                  "textbook": dict(color=PALETTE["textbook"], linewidth=1.8, linestyle=":")}
        self.lines = {key: (loss_axes.plot([], [], label=names[key], **styles[key])[0],
                            grad_axes.plot([], [], **styles[key])[0]) for key in ("exact", "stable", "torch", "textbook")}
        self.saturation_lines = [axes.axvline(0, color="#444444", linewidth=1, linestyle=(0, (1, 2)))
                                 for axes in (loss_axes, grad_axes) for _ in range(2)]
        rows = {key: self.t(f"short_{key}") for key in CURVES}
        self.strips = [NonFiniteStrip(loss_strip, rows), NonFiniteStrip(grad_strip, rows)]
        for axes, title, ylabel in ((loss_axes, "title_loss", "loss"), (grad_axes, "title_grad", "gradient")):
            axes.set_title(self.t(title))
            axes.set_ylabel(self.t(ylabel))
            axes.grid(alpha=0.3)
            axes.tick_params(labelbottom=False)
        for strip in (loss_strip, grad_strip):
            strip.set_xlabel(self.t("logit"))
        grad_axes.set_ylim(-1.15, 1.15)
        handles = [self.lines[key][0] for key in ("textbook", "torch", "stable", "exact")] + nonfinite_handles()
        figure.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False)
        self.loss_axes, self.grad_axes = loss_axes, grad_axes
        dynamic = [line for pair in self.lines.values() for line in pair] + self.saturation_lines + [self.note]
        dynamic += [a for strip in self.strips for a in strip.artists]
        return figure, dynamic

    def compute(self, label, dtype, logit_range, label_text=None):
        label = self.check("label", label)
        dtype = self.check_dtype(dtype, DTYPES)
        bound = self.check("logit_range", logit_range)
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
        nonfinite = {key: {"loss": nonfinite_kinds(loss), "grad": nonfinite_kinds(grad)}
                     for key, (loss, grad) in curves.items()}
        return {"x": exact_x.numpy(), "bound": bound, "dtype": dtype, "label": label, "curves": curves,
                "saturation": _saturation(dtype),
                # the textbook formula's masks (notebook 02 counts them); every curve's in "nonfinite"
                "inf": (np.isinf(textbook_loss), np.isinf(textbook_grad)),
                "nan": (np.isnan(textbook_loss), np.isnan(textbook_grad)),
                "nonfinite": nonfinite}

    def draw(self, data):
        x, bound = data["x"], data["bound"]
        # Limits depend on the range alone, so moving the label or switching the dtype is a blit.
        # The loss reaches about the range itself, or torch's clamp at 100 once sigmoid saturates.
        top = steady_limit(None, 1.05 * max(bound, 100.0 if bound > 16 else bound))
        frame_changed = self.loss_axes.get_xlim() != (-bound, bound) or self.loss_axes.get_ylim() != (0.0, top)
        if frame_changed:
            self.loss_axes.set_ylim(0.0, top)
            for axes in (self.loss_axes, self.grad_axes):
                axes.set_xlim(-bound, bound)
        for key, (loss, grad) in data["curves"].items():
            loss_line, grad_line = self.lines[key]
            loss_line.set_data(x, np.where(np.isfinite(loss), loss, np.nan))
            grad_line.set_data(x, np.where(np.isfinite(grad), grad, np.nan))
        upper, lower = data["saturation"]
        for index, line in enumerate(self.saturation_lines):
            where = upper if index % 2 == 0 else lower
            line.set_xdata([where, where])
            line.set_visible(-bound <= where <= bound)
        self.note.set_text(self.t("saturation", dtype=data["dtype"], upper=upper, lower=lower).replace("-", "−"))
        for strip, part in zip(self.strips, (0, 1)):
            strip.update(x, {key: data["curves"][key][part] for key in CURVES})
        return frame_changed
