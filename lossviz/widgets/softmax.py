"""softmax_explorer: log(softmax(z)) against log_softmax as the logits spread apart.

K logits spread evenly over [-s, s] (K = 3, s = 1000 is [1000, 0, -1000]). Three panels: the
log-probability of each class both ways (the naive one turns into -inf), the loss of the chosen
target against the spread (the naive one turns inf, then NaN in its gradient), and the gradient
per class, softmax(z) - onehot, which the naive form loses to NaN. A value that is not finite runs
through its panel in the colour and hatch of its kind (−inf, NaN, ...), named by the legend, so
nothing has to squeeze into a bar's slot at K = 10.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
from matplotlib.patches import Patch

from .. import naive, stable
from ..plots import (NONFINITE_STYLE, PALETTE, ClassBars, SpanPool, intervals, new_figure, nonfinite_kinds, note_line, symlog)
from ._explorer import Explorer, InputProblem, dropdown, int_slider, log_slider, loss_and_gradient, number_box
from .overflow import DTYPES

MAX_CLASSES = 10
SPREADS = np.logspace(-1, 4, 241)
SPREAD_RANGE = (0.1, 1e4)
BOTTOM = -1e5  # where a -inf log-probability is drawn on the symlog axis
BAND_HEIGHTS = {"+inf": 0.97, "−inf": 0.89, "NaN": 0.81, "−NaN": 0.73}


def _logits(spread, classes, dtype):
    base = torch.linspace(1.0, -1.0, classes, dtype=torch.float64)
    return (torch.as_tensor(spread, dtype=torch.float64).reshape(-1, 1) * base).to(dtype)


@functools.lru_cache(maxsize=64)
def _loss_curves(classes: int, target: int, dtype: str) -> dict:
    """The loss over every spread of the axis: the spread slider moves only the marker."""
    curve_z = _logits(SPREADS, classes, DTYPES[dtype])
    labels = torch.full((len(SPREADS),), target)
    with torch.no_grad():
        curve = {"naive": naive.cross_entropy(curve_z, labels, reduction="none").double().numpy(),
                 "stable": stable.cross_entropy(curve_z, labels, reduction="none").double().numpy()}
    for values in curve.values():
        values.flags.writeable = False  # shared between updates
    return curve


class SoftmaxExplorer(Explorer):
    name = "softmax_explorer"
    BOXES = {"classes_text": "classes", "spread_text": "spread", "target_text": "target"}
    MIRRORS = ("classes_text", "spread_text", "target_text")
    TEXT = {
        "en": {"classes": "classes K", "spread": "spread s", "target": "target class", "dtype": "dtype",
               "naive": "log(softmax(z))", "stable": "log_softmax(z) (LogSumExp)", "log_p": "log-probability (symlog)",
               "title_log_p": "log p per class", "title_loss": "Loss vs spread s", "title_grad": "Gradient softmax − onehot",
               "spread_axis": "spread s (logits from −s to s)", "grad_axis": "dL/dz", "bar": "bar through the panel: {kind}", "band": "loss {kind}",
               "note": "z = {first} … {last} ({dtype}), target {target}: log(softmax(z)) is not finite for {bad} of {K} "
                       "classes; shaded: where its loss is ±inf or NaN",
               "classes_why": "a softmax needs two classes; the figure has room for 10",
               "spread_why": "the range of the spread axis", "target_why": "K = {K} classes, numbered from 0"},
        "ko": {"classes": "클래스 수 K", "spread": "간격 s", "target": "정답 클래스", "dtype": "자료형",
               "naive": "log(softmax(z))", "stable": "log_softmax(z) (LogSumExp)", "log_p": "로그 확률 (symlog)",
               "title_log_p": "클래스별 log p", "title_loss": "간격 s에 따른 손실", "title_grad": "그래디언트 소프트맥스 − 원-핫",
               "spread_axis": "간격 s (로짓은 −s부터 s까지)", "grad_axis": "dL/dz", "bar": "패널 전체 막대: {kind}", "band": "손실 {kind}",
               "note": "z = {first} … {last} ({dtype}), 정답 {target}: 클래스 {K}개 중 {bad}개에서 log(softmax(z))가 "
                       "유한하지 않습니다. 색칠한 곳: 그 손실이 ±inf나 NaN인 구간",
               "classes_why": "소프트맥스에는 클래스가 둘 이상 필요하고, 그림에는 10개까지 들어갑니다",
               "spread_why": "간격 축의 범위", "target_why": "클래스는 K = {K}개이고 0부터 셉니다"},
    }

    def build_controls(self):
        return {"classes": int_slider(self.t("classes"), 2, MAX_CLASSES, 3),
                "classes_text": number_box("", 3, width="4em"),
                "spread": log_slider(self.t("spread"), -1, 4, 1000.0),
                "spread_text": number_box("", 1000.0),
                "target": int_slider(self.t("target"), 0, 2, 1),
                "target_text": number_box("", 1, width="4em"),
                "dtype": dropdown(self.t("dtype"), list(DTYPES), "float32")}

    def check(self, setting, value, classes=None):
        if setting == "classes":
            return self.in_range(setting, value, 2, MAX_CLASSES, self.t("classes_why"), integer=True)
        if setting == "spread":
            return self.in_range(setting, value, *SPREAD_RANGE, self.t("spread_why"))
        if setting == "target":
            classes = self._drawn["classes"] if classes is None else classes
            return self.in_range(setting, value, 0, classes - 1, self.t("target_why", K=classes), integer=True)
        return value

    def on_setting(self, setting, value):
        if setting != "classes":
            return
        target = self.controls["target"]
        with self._quietly(), target.hold_trait_notifications():
            target.max = value - 1
        if self._drawn["target"] > value - 1:  # the largest class left, in both places
            self._drawn["target"] = value - 1
            self._set_quietly("target", value - 1)
            self._set_quietly("target_text", str(value - 1))

    def build_figure(self):
        figure, (log_axes, loss_axes, grad_axes) = new_figure(ncols=3, height=4.1)
        self.note = note_line(figure)
        series = {"naive": dict(facecolor=PALETTE["textbook"], edgecolor="white", linewidth=0.5),
                  "stable": dict(facecolor=PALETTE["stable"], edgecolor="white", linewidth=0.5)}
        self.log_bars = ClassBars(log_axes, series, MAX_CLASSES)
        self.grad_bars = ClassBars(grad_axes, series, MAX_CLASSES)
        log_axes.set_ylim(BOTTOM * 1.5, 1.0)
        symlog(log_axes, linthresh=1.0)
        log_axes.set_ylabel(self.t("log_p"))
        log_axes.set_title(self.t("title_log_p"))
        self.loss_lines = {"naive": loss_axes.plot([], [], color=PALETTE["textbook"], linewidth=2.8, linestyle=":")[0],
                           "stable": loss_axes.plot([], [], color=PALETTE["stable"], linewidth=1.8)[0]}
        self.loss_marker = loss_axes.plot([], [], "o", color="black", markersize=6)[0]
        self.loss_shading = {kind: SpanPool(loss_axes, NONFINITE_STYLE[kind]["facecolor"], alpha=0.25,
                                            label_height=BAND_HEIGHTS[kind]) for kind in BAND_HEIGHTS}
        loss_axes.set_xlim(SPREADS[0], SPREADS[-1])  # limits before scales: no autoscale of empty data
        loss_axes.set_ylim(0, 1e5)
        loss_axes.set_xscale("log")
        symlog(loss_axes, linthresh=1.0)
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
        handles = [Patch(facecolor=PALETTE["textbook"], label=self.t("naive")),
                   Patch(facecolor=PALETTE["stable"], label=self.t("stable"))]
        handles += [Patch(edgecolor="white", label=self.t("bar", kind=kind), **NONFINITE_STYLE[kind])
                    for kind in ("−inf", "NaN", "−NaN")]
        handles += [Patch(facecolor=NONFINITE_STYLE[kind]["facecolor"], alpha=0.25, label=self.t("band", kind=kind))
                    for kind in ("+inf", "NaN")]
        figure.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False)
        dynamic = self.log_bars.artists + self.grad_bars.artists
        dynamic += list(self.loss_lines.values()) + [self.loss_marker, self.note]
        dynamic += [a for pool in self.loss_shading.values() for a in pool.artists]
        return figure, dynamic

    def compute(self, classes, spread, target, dtype, **_mirrors):
        classes = self.check("classes", classes)
        spread = self.check("spread", spread)
        target = self.check("target", target, classes=classes)
        dtype = self.check_dtype(dtype, DTYPES)
        kind = DTYPES[dtype]
        z = _logits(spread, classes, kind)
        label = torch.tensor([target])
        naive_loss, naive_grad = loss_and_gradient(naive.cross_entropy, z, label, reduction="none")
        stable_loss, stable_grad = loss_and_gradient(stable.cross_entropy, z, label, reduction="none")
        curve = _loss_curves(classes, target, dtype)
        return {"classes": classes, "spread": spread, "target": target, "dtype": dtype,
                "z": z[0].double().numpy(),
                "log_p": {"naive": torch.log(torch.softmax(z[0], 0)).double().numpy(),
                          "stable": torch.log_softmax(z[0], 0).double().numpy()},
                "loss": {"naive": naive_loss[0], "stable": stable_loss[0]},
                "grad": {"naive": naive_grad[0], "stable": stable_grad[0]},
                "curve": curve,
                "nonfinite": {key: nonfinite_kinds(values) for key, values in curve.items()}}

    def draw(self, data):
        classes = data["classes"]
        self.log_bars.update(data["log_p"], classes)
        self.grad_bars.update(data["grad"], classes)
        for key, line in self.loss_lines.items():
            values = data["curve"][key]
            line.set_data(SPREADS, np.where(np.isfinite(values), values, np.nan))
        self.loss_marker.set_data([data["spread"]], [data["loss"]["stable"]])
        for kind, pool in self.loss_shading.items():
            pool.update(intervals(SPREADS, data["nonfinite"]["naive"][kind]), kind)
        bad = int((~np.isfinite(data["log_p"]["naive"])).sum())
        z = data["z"]
        self.note.set_text(self.t("note", first=f"{z[0]:g}", last=f"{z[-1]:g}", dtype=data["dtype"], target=data["target"],
                                  bad=bad, K=classes).replace("-", "−"))
        return False
