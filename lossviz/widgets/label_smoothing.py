"""label_smoothing_explorer: the smoothed target, the loss against the margin, the gradient.

Logits [m, 0, ..., 0] with the true class first. With smoothing the loss has its minimum at a
finite margin m* = ln(t_true / t_other), where softmax(z) equals the target; without it the loss
only approaches 0 as m grows. Two conventions: torch's (1 - eps) onehot + eps / K, and
"1 - eps on the true class, eps / (K - 1) elsewhere" from many blog posts.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .. import stable
from ..plots import PALETTE, ClassBars, new_figure, note_line, symlog
from ..targets import smoothed_targets
from ._explorer import Explorer, choice, int_slider, number_box, slider

MAX_CLASSES = 20
MARGINS = np.linspace(0.0, 25.0, 251)
CONVENTIONS = ("torch", "uniform_others")


def _target(classes, epsilon, convention):
    return smoothed_targets(torch.tensor(0), classes, epsilon, convention=convention, dtype=torch.float64)


def _margin_logits(margins, classes):
    z = torch.zeros(len(margins), classes, dtype=torch.float64)
    z[:, 0] = torch.as_tensor(margins, dtype=torch.float64)
    return z


@functools.lru_cache(maxsize=64)
def _loss_curve(classes: int, epsilon: float, convention: str) -> np.ndarray:
    """The loss over every margin of the axis: the margin slider moves only the marker."""
    target = _target(classes, epsilon, convention)
    with torch.no_grad():
        curve = stable.cross_entropy(_margin_logits(MARGINS, classes), target.expand(len(MARGINS), classes),
                                     reduction="none").numpy()
    curve.flags.writeable = False  # shared between updates
    return curve


class LabelSmoothingExplorer(Explorer):
    name = "label_smoothing_explorer"
    BOXES = {"epsilon_text": "epsilon", "classes_text": "classes", "margin_text": "margin"}
    MIRRORS = ("epsilon_text", "classes_text", "margin_text")
    TEXT = {
        "en": {"epsilon": "smoothing ε", "classes": "classes K", "convention": "convention", "margin": "margin m",
               "torch": "torch: ε/K", "uniform_others": "1−ε, ε/(K−1)", "title_target": "Target t and softmax p",
               "target": "target t", "other": "other convention", "softmax": "softmax p at m",
               "probability": "probability", "title_loss": "Loss vs margin (logits [m, 0, …, 0])",
               "margin_axis": "margin m", "loss_log": "loss (log scale)", "title_grad": "Gradient p − t at m",
               "grad_axis": "dL/dz (symlog)", "loss_line": "loss", "optimum_line": "minimum m*",
               "optimum": "K = {K}, ε = {eps:g}: the loss is smallest at m* = ln(t₀/t₁) = {value:.3g}, "
                          "where softmax p equals the target t",
               "no_optimum": "ε = 0: no finite minimum; the loss keeps falling as the margin grows",
               "epsilon_why": "torch accepts 0 ≤ ε ≤ 1", "classes_why": "two classes at least; the bars have room for 20",
               "margin_why": "the margin axis drawn", "convention_why": "the two conventions this figure compares"},
        "ko": {"epsilon": "스무딩 ε", "classes": "클래스 수 K", "convention": "규약", "margin": "마진 m",
               "torch": "torch: ε/K", "uniform_others": "1−ε, ε/(K−1)", "title_target": "타깃 t와 소프트맥스 p",
               "target": "타깃 t", "other": "다른 규약", "softmax": "마진 m에서의 소프트맥스 p",
               "probability": "확률", "title_loss": "마진에 따른 손실 (로짓 [m, 0, …, 0])",
               "margin_axis": "마진 m", "loss_log": "손실 (로그 눈금)", "title_grad": "마진 m에서의 그래디언트 p − t",
               "grad_axis": "dL/dz (symlog)", "loss_line": "손실", "optimum_line": "최소점 m*",
               "optimum": "K = {K}, ε = {eps:g}: 손실은 m* = ln(t₀/t₁) = {value:.3g}에서 가장 작고, "
                          "그곳에서 소프트맥스 p가 타깃 t와 같습니다",
               "no_optimum": "ε = 0: 유한한 최소점이 없습니다. 마진이 커질수록 손실이 계속 줄어듭니다",
               "epsilon_why": "torch는 0 ≤ ε ≤ 1을 받습니다", "classes_why": "클래스는 둘 이상, 막대는 20개까지 들어갑니다",
               "margin_why": "그림의 마진 축 범위", "convention_why": "이 그림이 비교하는 두 규약"},
    }

    def build_controls(self):
        return {"epsilon": slider(self.t("epsilon"), 0.0, 1.0, 0.01, 0.1),  # what torch accepts
                "epsilon_text": number_box("", 0.1, width="5em"),
                "classes": int_slider(self.t("classes"), 2, MAX_CLASSES, 4),
                "classes_text": number_box("", 4, width="4em"),
                "convention": choice(self.t("convention"),
                                     [(self.t("torch"), "torch"), (self.t("uniform_others"), "uniform_others")], "torch"),
                "margin": slider(self.t("margin"), 0.0, float(MARGINS[-1]), 0.1, 5.0),
                "margin_text": number_box("", 5.0, width="5em")}

    def check(self, setting, value):
        if setting == "epsilon":
            return self.in_range(setting, value, 0.0, 1.0, self.t("epsilon_why"))
        if setting == "classes":
            return self.in_range(setting, value, 2, MAX_CLASSES, self.t("classes_why"), integer=True)
        if setting == "margin":
            return self.in_range(setting, value, 0.0, float(MARGINS[-1]), self.t("margin_why"))
        if setting == "convention":
            return self.one_of(setting, value, CONVENTIONS, self.t("convention_why"))
        return value

    def build_figure(self):
        figure, (target_axes, loss_axes, grad_axes) = new_figure(ncols=3, height=4.1)
        self.note = note_line(figure)
        self.target_bars = ClassBars(target_axes, {
            "target": dict(facecolor=PALETTE["stable"], alpha=0.7),
            "other": dict(fill=False, edgecolor="#222222", linestyle="--", linewidth=1.2)}, MAX_CLASSES)
        self.softmax_dots = target_axes.plot([], [], "o", color=PALETTE["textbook"], markersize=6)[0]
        target_axes.set_ylim(0, 1.05)
        target_axes.set_ylabel(self.t("probability"))
        target_axes.set_title(self.t("title_target"))
        self.loss_line = loss_axes.plot([], [], color=PALETTE["stable"], linewidth=2)[0]
        self.loss_marker = loss_axes.plot([], [], "o", color="black")[0]
        self.optimum_line = loss_axes.axvline(0, color=PALETTE["positive"], linestyle="--", linewidth=1.6)
        # log scale, fixed: every eps and K fits, and the loss never reaching 0 with smoothing shows
        loss_axes.set_xlim(MARGINS[0], MARGINS[-1])
        loss_axes.set_ylim(1e-3, 30)
        loss_axes.set_yscale("log")
        loss_axes.set_xlabel(self.t("margin_axis"))
        loss_axes.set_ylabel(self.t("loss_log"))
        loss_axes.set_title(self.t("title_loss"))
        self.grad_bars = ClassBars(grad_axes, {"gradient": dict(facecolor=PALETTE["torch"])}, MAX_CLASSES)
        grad_axes.axhline(0, color="#444444", linewidth=0.8)
        grad_axes.set_ylim(-1.2, 1.2)
        # linear within ±10⁻³, logarithmic beyond, with no false kink at the switch
        symlog(grad_axes, linthresh=1e-3)
        grad_axes.set_ylabel(self.t("grad_axis"))
        grad_axes.set_title(self.t("title_grad"))
        for axes in (target_axes, grad_axes):
            axes.set_xlabel(self.t("class"))
        for axes in (target_axes, loss_axes, grad_axes):
            axes.grid(alpha=0.3)
        handles = [Patch(facecolor=PALETTE["stable"], alpha=0.7, label=self.t("target")),
                   Patch(fill=False, edgecolor="#222222", linestyle="--", label=self.t("other")),
                   Line2D([], [], marker="o", color=PALETTE["textbook"], linestyle="", label=self.t("softmax")),
                   Line2D([], [], color=PALETTE["stable"], linewidth=2, label=self.t("loss_line")),
                   Line2D([], [], color=PALETTE["positive"], linestyle="--", label=self.t("optimum_line")),
                   Patch(facecolor=PALETTE["torch"], label="p − t")]
        figure.legend(handles=handles, loc="outside lower center", ncols=6, frameon=False)
        dynamic = self.target_bars.artists + self.grad_bars.artists
        dynamic += [self.softmax_dots, self.loss_line, self.loss_marker, self.optimum_line, self.note]
        return figure, dynamic

    def compute(self, epsilon, classes, convention, margin, **_mirrors):
        epsilon = self.check("epsilon", epsilon)
        classes = self.check("classes", classes)
        convention = self.check("convention", convention)
        margin = self.check("margin", margin)
        other = "uniform_others" if convention == "torch" else "torch"
        target, other_target = _target(classes, epsilon, convention), _target(classes, epsilon, other)
        curve = _loss_curve(classes, epsilon, convention)
        softmax = torch.softmax(_margin_logits([margin], classes)[0], 0)
        optimum = math.log(float(target[0] / target[1])) if target[1] > 0 else math.inf
        return {"classes": classes, "epsilon": epsilon, "margin": margin, "target": target.numpy(),
                "other": other_target.numpy(), "softmax": softmax.numpy(), "gradient": (softmax - target).numpy(),
                "curve": curve,
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
            self.note.set_text(self.t("optimum", K=classes, eps=data["epsilon"], value=optimum))
        else:
            self.note.set_text(self.t("no_optimum"))
        return False
