"""softmax_explorer: log(softmax(z)) against log_softmax as the logits spread apart.

K logits spread evenly over [-s, s] (K = 3, s = 1000 is [1000, 0, -1000]). Three panels: the
log-probability of each class both ways (the naive one turns into -inf), the loss of the chosen
target against the spread (the naive one turns inf, then NaN in its gradient), and the gradient
per class, softmax(z) - onehot, which the naive form loses to NaN.
"""
from __future__ import annotations

import numpy as np
import torch

from .. import naive, stable
from matplotlib.patches import Patch

from ..plots import PALETTE, ClassBars, SpanPool, intervals, new_figure
from ._explorer import Explorer, InputProblem, dropdown, int_slider, log_slider, loss_and_gradient
from .overflow import DTYPES

MAX_CLASSES = 10
SPREADS = np.logspace(-1, 4, 241)
BOTTOM = -1e5  # where a -inf log-probability is drawn on the symlog axis


def _logits(spread, classes, dtype):
    base = torch.linspace(1.0, -1.0, classes, dtype=torch.float64)
    return (torch.as_tensor(spread, dtype=torch.float64).reshape(-1, 1) * base).to(dtype)


class SoftmaxExplorer(Explorer):
    name = "softmax_explorer"
    TEXT = {
        "en": {"classes": "classes K", "spread": "spread s", "target": "target class", "dtype": "dtype",
               "naive": "log(softmax(z))", "stable": "log_softmax(z) (LogSumExp)", "log_p": "log-probability",
               "title_log_p": "log p per class", "title_loss": "Loss vs spread s", "title_grad": "Gradient softmax − onehot",
               "spread_axis": "spread s (logits from −s to s)", "grad_axis": "dL/dz", "minus_inf": "−∞",
               "inf": "inf", "nan": "NaN"},
        "ko": {"classes": "클래스 수 K", "spread": "간격 s", "target": "정답 클래스", "dtype": "자료형",
               "naive": "log(softmax(z))", "stable": "log_softmax(z) (LogSumExp)", "log_p": "로그 확률",
               "title_log_p": "클래스별 log p", "title_loss": "간격 s에 따른 손실", "title_grad": "그래디언트 softmax − 원-핫",
               "spread_axis": "간격 s (로짓은 −s부터 s까지)", "grad_axis": "dL/dz", "minus_inf": "−∞",
               "inf": "inf", "nan": "NaN"},
    }

    def build_controls(self):
        return {"classes": int_slider(self.t("classes"), 2, MAX_CLASSES, 3),
                "spread": log_slider(self.t("spread"), -1, 4, 1000.0),
                "target": int_slider(self.t("target"), 0, 2, 1),
                "dtype": dropdown(self.t("dtype"), list(DTYPES), "float32")}

    def _on_change(self, change):
        if change.owner is self.controls["classes"]:
            target = self.controls["target"]
            with target.hold_trait_notifications():
                self._adjusting = True
                target.max = change.new - 1  # may clamp the target's value: one refresh below covers it
                self._adjusting = False
        if not getattr(self, "_adjusting", False):
            self.refresh()

    def build_figure(self):
        figure, (log_axes, loss_axes, grad_axes) = new_figure(ncols=3, height=3.6)
        series = {"naive": dict(facecolor=PALETTE["textbook"], edgecolor="white", linewidth=0),
                  "stable": dict(color=PALETTE["stable"])}
        self.log_bars = ClassBars(log_axes, series, MAX_CLASSES)
        self.grad_bars = ClassBars(grad_axes, series, MAX_CLASSES)
        # where the naive form gives -inf or NaN, a bar cannot say it: a word above it does
        boxed = dict(facecolor=PALETTE["textbook"], edgecolor="none", pad=1.5)
        self.marks = {name: [axes.text(0, 0, "", ha="center", va="center", fontsize=9, fontweight="bold",
                                       color=color, bbox=box, visible=False) for _ in range(MAX_CLASSES)]
                      for name, axes, color, box in (("log", log_axes, "white", boxed),
                                                     ("grad", grad_axes, PALETTE["textbook"], None))}
        log_axes.set_ylim(BOTTOM * 1.5, 1.0)
        log_axes.set_yscale("symlog", linthresh=1.0)
        log_axes.set_ylabel(self.t("log_p"))
        log_axes.set_title(self.t("title_log_p"))
        self.loss_lines = {"naive": loss_axes.plot([], [], color=PALETTE["textbook"], linewidth=2.5)[0],
                           "stable": loss_axes.plot([], [], color=PALETTE["stable"], linewidth=1.5)[0]}
        self.loss_marker = loss_axes.plot([], [], "o", color="black", markersize=6)[0]
        self.loss_shading = {"inf": SpanPool(loss_axes, PALETTE["inf"]), "nan": SpanPool(loss_axes, PALETTE["nan"])}
        loss_axes.set_xlim(SPREADS[0], SPREADS[-1])  # limits before scales: no autoscale of empty data
        loss_axes.set_ylim(0, 1e5)
        loss_axes.set_xscale("log")
        loss_axes.set_yscale("symlog", linthresh=1.0)
        loss_axes.set_xlabel(self.t("spread_axis"))
        loss_axes.set_ylabel(self.t("loss"))
        loss_axes.set_title(self.t("title_loss"))
        grad_axes.set_ylim(-1.15, 1.15)
        grad_axes.axhline(0, color="#444444", linewidth=0.8)
        grad_axes.set_ylabel(self.t("grad_axis"))
        grad_axes.set_title(self.t("title_grad"))
        for axes in (log_axes, grad_axes):
            axes.set_xlabel(self.t("class"))
        for axes in (log_axes, loss_axes, grad_axes):
            axes.grid(alpha=0.3)
        handles = [Patch(color=PALETTE["textbook"], label=self.t("naive")), Patch(color=PALETTE["stable"], label=self.t("stable"))]
        figure.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=9, frameon=False)
        dynamic = self.log_bars.artists + self.grad_bars.artists + [t for marks in self.marks.values() for t in marks]
        dynamic += list(self.loss_lines.values()) + [self.loss_marker]
        dynamic += [a for pool in self.loss_shading.values() for a in pool.artists]
        return figure, dynamic

    def compute(self, classes, spread, target, dtype):
        kind = DTYPES[dtype]
        spread = self.number("spread", spread, 1e-3, 1e6)
        if not 0 <= target < classes:
            raise InputProblem(f"target {target} ≥ K = {classes}")
        z = _logits(spread, classes, kind)
        label = torch.tensor([target])
        naive_loss, naive_grad = loss_and_gradient(naive.cross_entropy, z, label, reduction="none")
        stable_loss, stable_grad = loss_and_gradient(stable.cross_entropy, z, label, reduction="none")
        curve_z = _logits(SPREADS, classes, kind)
        labels = torch.full((len(SPREADS),), target)
        with torch.no_grad():
            curve = {"naive": naive.cross_entropy(curve_z, labels, reduction="none").double().numpy(),
                     "stable": stable.cross_entropy(curve_z, labels, reduction="none").double().numpy()}
        return {"classes": classes, "spread": spread, "target": target,
                "log_p": {"naive": torch.log(torch.softmax(z[0], 0)).double().numpy(),
                          "stable": torch.log_softmax(z[0], 0).double().numpy()},
                "loss": {"naive": naive_loss[0], "stable": stable_loss[0]},
                "grad": {"naive": naive_grad[0], "stable": stable_grad[0]},
                "curve": curve}

    def draw(self, data):
        classes = data["classes"]
        log_p = {key: np.where(np.isneginf(v), BOTTOM, np.nan_to_num(v, nan=0.0)) for key, v in data["log_p"].items()}
        grad = {key: np.nan_to_num(v, nan=0.0) for key, v in data["grad"].items()}
        self.log_bars.update(log_p, classes)
        self.grad_bars.update(grad, classes)
        for name, bars, raw, height in (("log", self.log_bars, data["log_p"]["naive"], BOTTOM / 30),
                                        ("grad", self.grad_bars, data["grad"]["naive"], 0.08)):
            for index, mark in enumerate(self.marks[name]):
                value = raw[index] if index < classes else 0.0
                text = self.t("minus_inf") if np.isneginf(value) else (self.t("nan") if np.isnan(value) else "")
                mark.set_visible(bool(text))
                if text:
                    bar = bars.series["naive"][index]
                    mark.set_text(text)
                    mark.set_position((bar.get_x() + bar.get_width() / 2, height))
            for index, bar in enumerate(bars.series["naive"]):
                bar.set_hatch("//" if index < classes and not np.isfinite(raw[index]) else None)
        for key, line in self.loss_lines.items():
            values = data["curve"][key]
            line.set_data(SPREADS, np.where(np.isfinite(values), values, np.nan))
        self.loss_marker.set_data([data["spread"]], [data["loss"]["stable"]])
        naive_curve = data["curve"]["naive"]
        self.loss_shading["inf"].update(intervals(SPREADS, np.isinf(naive_curve)), self.t("inf"))
        self.loss_shading["nan"].update(intervals(SPREADS, np.isnan(naive_curve)), self.t("nan"))
        return False
