"""label_smoothing_explorer: the smoothed target, the loss against the margin, the gradient.

Logits [m, 0, ..., 0] with the true class first. With smoothing the loss has its minimum at a
finite margin m* = ln(t_true / t_other), where softmax(z) equals the target; without it the loss
only approaches 0 as m grows. Two conventions: torch's (1 - eps) onehot + eps / K, and
"1 - eps on the true class, eps / (K - 1) elsewhere" from many blog posts.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .. import stable
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..plots import PALETTE, ClassBars, new_figure
from ..targets import smoothed_targets
from ._explorer import Explorer, choice, int_slider, slider

MAX_CLASSES = 20
MARGINS = np.linspace(0.0, 25.0, 251)


def _target(classes, epsilon, convention):
    return smoothed_targets(torch.tensor(0), classes, epsilon, convention=convention, dtype=torch.float64)


def _margin_logits(margins, classes):
    z = torch.zeros(len(margins), classes, dtype=torch.float64)
    z[:, 0] = torch.as_tensor(margins, dtype=torch.float64)
    return z


class LabelSmoothingExplorer(Explorer):
    name = "label_smoothing_explorer"
    TEXT = {
        "en": {"epsilon": "smoothing ε", "classes": "classes K", "convention": "convention", "margin": "margin m",
               "torch": "torch: ε/K", "uniform_others": "1−ε, ε/(K−1)", "title_target": "Target t and softmax p",
               "target": "target t", "other": "other convention", "softmax": "softmax p at m",
               "probability": "probability", "title_loss": "Loss vs margin (logits [m, 0, …, 0])",
               "margin_axis": "margin m", "loss_log": "loss (log scale)", "title_grad": "Gradient p − t at m", "grad_axis": "dL/dz (symlog)",
               "optimum": "minimum at m* = ln(t₀/t₁) = {value:.3g}", "no_optimum": "ε = 0: no finite minimum"},
        "ko": {"epsilon": "스무딩 ε", "classes": "클래스 수 K", "convention": "규약", "margin": "마진 m",
               "torch": "torch: ε/K", "uniform_others": "1−ε, ε/(K−1)", "title_target": "타깃 t와 softmax p",
               "target": "타깃 t", "other": "다른 규약", "softmax": "마진 m에서의 softmax p",
               "probability": "확률", "title_loss": "마진에 따른 손실 (로짓 [m, 0, …, 0])",
               "margin_axis": "마진 m", "loss_log": "손실 (로그 눈금)", "title_grad": "마진 m에서의 그래디언트 p − t", "grad_axis": "dL/dz (symlog)",
               "optimum": "최소점 m* = ln(t₀/t₁) = {value:.3g}", "no_optimum": "ε = 0: 유한한 최소점 없음"},
    }

    def build_controls(self):
        return {"epsilon": slider(self.t("epsilon"), 0.0, 0.5, 0.01, 0.1),
                "classes": int_slider(self.t("classes"), 2, MAX_CLASSES, 4),
                "convention": choice(self.t("convention"),
                                     [(self.t("torch"), "torch"), (self.t("uniform_others"), "uniform_others")], "torch"),
                "margin": slider(self.t("margin"), 0.0, 20.0, 0.1, 5.0)}

    def build_figure(self):
        figure, (target_axes, loss_axes, grad_axes) = new_figure(ncols=3, height=3.6)
        self.target_bars = ClassBars(target_axes, {
            "target": dict(color=PALETTE["stable"], alpha=0.6),
            "other": dict(fill=False, edgecolor="#444444", linestyle="--")}, MAX_CLASSES)
        self.softmax_dots = target_axes.plot([], [], "o", color=PALETTE["textbook"])[0]
        target_axes.set_ylim(0, 1.05)
        target_axes.set_ylabel(self.t("probability"))
        target_axes.set_title(self.t("title_target"))
        target_axes.legend(handles=[Patch(color=PALETTE["stable"], alpha=0.6, label=self.t("target")),
                                    Patch(fill=False, edgecolor="#444444", linestyle="--", label=self.t("other")),
                                    Line2D([], [], marker="o", color=PALETTE["textbook"], linestyle="", label=self.t("softmax"))],
                           loc="upper right", fontsize=8)
        self.loss_line = loss_axes.plot([], [], color=PALETTE["stable"], linewidth=2)[0]
        self.loss_marker = loss_axes.plot([], [], "o", color="black")[0]
        self.optimum_line = loss_axes.axvline(0, color=PALETTE["positive"], linestyle="--")
        self.optimum_text = loss_axes.text(0.97, 0.95, "", transform=loss_axes.transAxes, ha="right", va="top",
                                           fontsize=9, bbox=dict(facecolor="white", alpha=0.85, edgecolor="none"))
        # log scale, fixed: every eps and K fits, and the loss never reaching 0 with smoothing shows
        loss_axes.set_xlim(MARGINS[0], MARGINS[-1])
        loss_axes.set_ylim(1e-3, 30)
        loss_axes.set_yscale("log")
        loss_axes.set_xlabel(self.t("margin_axis"))
        loss_axes.set_ylabel(self.t("loss_log"))
        loss_axes.set_title(self.t("title_loss"))
        self.grad_bars = ClassBars(grad_axes, {"gradient": dict(color=PALETTE["torch"])}, MAX_CLASSES)
        grad_axes.axhline(0, color="#444444", linewidth=0.8)
        grad_axes.set_ylim(-1.2, 1.2)
        grad_axes.set_yscale("symlog", linthresh=1e-3)
        grad_axes.set_ylabel(self.t("grad_axis"))
        grad_axes.set_title(self.t("title_grad"))
        for axes in (target_axes, grad_axes):
            axes.set_xlabel(self.t("class"))
        for axes in (target_axes, loss_axes, grad_axes):
            axes.grid(alpha=0.3)
        dynamic = self.target_bars.artists + self.grad_bars.artists
        dynamic += [self.softmax_dots, self.loss_line, self.loss_marker, self.optimum_line, self.optimum_text]
        return figure, dynamic

    def compute(self, epsilon, classes, convention, margin):
        epsilon = self.number("epsilon", epsilon, 0.0, 1.0)
        margin = self.number("margin", margin, 0.0, 100.0)
        other = "uniform_others" if convention == "torch" else "torch"
        target, other_target = _target(classes, epsilon, convention), _target(classes, epsilon, other)
        targets = target.expand(len(MARGINS), classes)
        with torch.no_grad():
            curve = stable.cross_entropy(_margin_logits(MARGINS, classes), targets, reduction="none").numpy()
        softmax = torch.softmax(_margin_logits([margin], classes)[0], 0)
        optimum = math.log(float(target[0] / target[1])) if target[1] > 0 else math.inf
        return {"classes": classes, "margin": margin, "target": target.numpy(), "other": other_target.numpy(),
                "softmax": softmax.numpy(), "gradient": (softmax - target).numpy(), "curve": curve,
                "loss": float(stable.cross_entropy(_margin_logits([margin], classes), target[None], reduction="sum")),
                "optimum": optimum}

    def draw(self, data):
        classes = data["classes"]
        self.target_bars.update({"target": data["target"], "other": data["other"]}, classes)
        self.grad_bars.update({"gradient": data["gradient"]}, classes)
        self.softmax_dots.set_data(self.target_bars.centers(classes), data["softmax"])
        self.loss_line.set_data(MARGINS, data["curve"])
        self.loss_marker.set_data([data["margin"]], [data["loss"]])
        optimum = data["optimum"]
        self.optimum_line.set_visible(math.isfinite(optimum) and 0 <= optimum <= MARGINS[-1])
        if math.isfinite(optimum):
            self.optimum_line.set_xdata([optimum, optimum])
            self.optimum_text.set_text(self.t("optimum", value=optimum))
        else:
            self.optimum_text.set_text(self.t("no_optimum"))
        return False
