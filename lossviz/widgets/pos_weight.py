"""pos_weight_explorer: what pos_weight does to the loss, the gradient and the decision threshold.

Left and middle: loss and gradient against the logit for y = 1 (scaled by pos_weight) and y = 0
(untouched). Right: a small imbalanced set (one feature, positives N(+1, 1), negatives N(-1, 1))
fitted by logistic regression with that pos_weight: the p = 0.5 boundary moves toward the
negatives as pos_weight grows, while the F1-best threshold stays where the ranking puts it.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
from matplotlib.patches import Patch

from .. import stable
from ..metrics import best_f1_threshold
from ..plots import PALETTE, new_figure, note_line, symlog
from ._explorer import Explorer, log_slider, loss_and_gradient, number_box, slider

LOGITS = torch.linspace(-8, 8, 401, dtype=torch.float64)
SAMPLES = 4000
FEATURE = np.linspace(-4.5, 4.5, 301)
BINS = np.linspace(-4.5, 4.5, 46)
POS_WEIGHT_RANGE = (0.1, 100.0)
SHARE_RANGE = (0.01, 0.5)


def _pools():
    generator = np.random.default_rng(0)
    return generator.normal(1.0, 1.0, SAMPLES), generator.normal(-1.0, 1.0, SAMPLES)


POSITIVES, NEGATIVES = _pools()


def fit_logistic(features: np.ndarray, labels: np.ndarray, pos_weight: float, steps: int = 30):
    """Logistic regression on one feature with pos_weight, by Newton's method: (slope, intercept).

    Minimises sum_i -[pw*y_i*log p_i + (1 - y_i)*log(1 - p_i)] with p_i = sigmoid(a*s_i + b); the
    gradient in the logit is (pw*y + 1 - y)*p - pw*y, as in binary_cross_entropy_with_logits.
    """
    design = np.stack([features, np.ones_like(features)], 1)
    sample_weight = pos_weight * labels + (1 - labels)
    theta = np.zeros(2)
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(design @ theta)))
        gradient = design.T @ (sample_weight * p - pos_weight * labels)
        hessian = (design * (sample_weight * p * (1 - p))[:, None]).T @ design
        step = np.linalg.solve(hessian + 1e-9 * np.eye(2), gradient)
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(theta[0]), float(theta[1])


def _sample(positives: int):
    features = np.concatenate([POSITIVES[:positives], NEGATIVES[: SAMPLES - positives]])
    labels = np.concatenate([np.ones(positives), np.zeros(SAMPLES - positives)])
    return features, labels


@functools.lru_cache(maxsize=128)
def _plain_fit(positives: int):
    return fit_logistic(*_sample(positives), 1.0)


@functools.lru_cache(maxsize=128)
def _ranking(positives: int):
    """What pos_weight cannot change: the histograms and the F1-best threshold on the feature."""
    features, labels = _sample(positives)
    best_feature, best_f1 = best_f1_threshold(torch.from_numpy(features), torch.from_numpy(labels))
    width = BINS[1] - BINS[0]
    # each class's own density, so 5% positives stay as visible as 95% negatives
    histogram = {"positive": np.histogram(features[:positives], BINS)[0] / (positives * width),
                 "negative": np.histogram(features[positives:], BINS)[0] / ((SAMPLES - positives) * width)}
    return best_feature, best_f1, histogram


@functools.lru_cache(maxsize=256)
def _weighted_fit(positives: int, pos_weight: float):
    return fit_logistic(*_sample(positives), pos_weight)


@functools.lru_cache(maxsize=1)
def _plain_positive_curve():
    """Loss and gradient for y = 1 without pos_weight: the same for every setting."""
    curve = loss_and_gradient(stable.binary_cross_entropy_with_logits, LOGITS, torch.ones_like(LOGITS),
                              reduction="none")
    for values in curve:
        values.flags.writeable = False  # shared between updates
    return curve


def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


class PosWeightExplorer(Explorer):
    name = "pos_weight_explorer"
    BOXES = {"pos_weight_text": "pos_weight", "positive_share_text": "positive_share"}
    MIRRORS = ("positive_share_text",)
    TEXT = {
        "en": {"pos_weight": "pos_weight", "share": "share of positives",
               "title_loss": "Loss (log scale)", "title_grad": "Gradient dL/dx (symlog)",
               "positive": "y = 1, this pos_weight", "positive_plain": "y = 1, pos_weight = 1",
               "negative": "y = 0 (any pos_weight)",
               "title_fit": "Imbalanced samples, fitted p(s)", "feature": "feature s",
               "density": "p, or density per class", "fit": "p(s), this pos_weight", "fit_plain": "p(s), pos_weight = 1",
               "boundary_line": "p = 0.5 boundary", "best_line": "best-F1 threshold",
               "hist_positive": "positives (density)", "hist_negative": "negatives (density)",
               "note": "{positives:,} positives · {negatives:,} negatives   |   p = 0.5 at s = {here:.2f} "
                       "(pos_weight 1: {plain:.2f})   |   best F1 {f1:.2f} at s ≥ {best:.2f}, where p ≥ {p:.2f}",
               "pos_weight_why": "0 would ignore every positive; the axes cover 0.1 to 100",
               "share_why": "from 40 of the 4,000 samples to half of them"},
        "ko": {"pos_weight": "pos_weight", "share": "양성 비율",
               "title_loss": "손실 (로그 눈금)", "title_grad": "그래디언트 dL/dx (symlog)",
               "positive": "y = 1, 현재 pos_weight", "positive_plain": "y = 1, pos_weight = 1",
               "negative": "y = 0 (pos_weight 무관)",
               "title_fit": "불균형 샘플, 학습된 p(s)", "feature": "특성 s",
               "density": "p, 또는 클래스별 밀도", "fit": "p(s), 현재 pos_weight", "fit_plain": "p(s), pos_weight = 1",
               "boundary_line": "p = 0.5 경계", "best_line": "최고 F1 임계값",
               "hist_positive": "양성 (밀도)", "hist_negative": "음성 (밀도)",
               "note": "양성 {positives:,}개 · 음성 {negatives:,}개   |   p = 0.5: s = {here:.2f} "
                       "(pos_weight 1: {plain:.2f})   |   최고 F1 {f1:.2f}: s ≥ {best:.2f}, p ≥ {p:.2f}",
               "pos_weight_why": "0이면 양성을 모두 무시하고, 축은 0.1부터 100까지입니다",
               "share_why": "샘플 4,000개 중 40개부터 절반까지"},
    }

    def build_controls(self):
        return {"pos_weight": log_slider(self.t("pos_weight"), -1, 2, 1.0),
                "pos_weight_text": number_box("", 1.0),
                "positive_share": slider(self.t("share"), *SHARE_RANGE, 0.01, 0.05),
                "positive_share_text": number_box("", 0.05)}

    def check(self, setting, value):
        if setting == "pos_weight":
            return self.in_range(setting, value, *POS_WEIGHT_RANGE, self.t("pos_weight_why"))
        if setting == "positive_share":
            return self.in_range(setting, value, *SHARE_RANGE, self.t("share_why"))
        return value

    def build_figure(self):
        figure, (loss_axes, grad_axes, fit_axes) = new_figure(ncols=3, height=4.3)
        self.note = note_line(figure)
        style = {"positive": dict(color=PALETTE["positive"], linewidth=2.4),
                 "positive_plain": dict(color=PALETTE["positive"], linewidth=1.4, linestyle="--"),
                 "negative": dict(color=PALETTE["negative"], linewidth=1.6, linestyle="-.")}
        self.loss_lines = {k: loss_axes.plot([], [], label=self.t(k), **s)[0] for k, s in style.items()}
        self.grad_lines = {k: grad_axes.plot([], [], **s)[0] for k, s in style.items()}
        loss_axes.set_ylim(1e-3, 2e3)
        loss_axes.set_yscale("log")
        grad_axes.set_ylim(-150, 2)
        # symlog: linear for |dL/dx| < 1, logarithmic beyond; the gradient is smooth across 1
        symlog(grad_axes, linthresh=1.0)
        for axes, title in ((loss_axes, "title_loss"), (grad_axes, "title_grad")):
            axes.set_xlim(float(LOGITS[0]), float(LOGITS[-1]))
            axes.set_xlabel(self.t("logit"))
            axes.set_title(self.t(title))
            axes.grid(alpha=0.3)
        loss_axes.set_ylabel(self.t("loss"))
        grad_axes.set_ylabel(self.t("gradient"))
        zeros = np.zeros(len(BINS) - 1)
        self.histograms = {
            "positive": fit_axes.stairs(zeros, BINS, fill=True, facecolor=PALETTE["positive"], alpha=0.45,
                                        edgecolor=PALETTE["positive"], hatch="//", label=self.t("hist_positive")),
            "negative": fit_axes.stairs(zeros, BINS, fill=True, color=PALETTE["negative"], alpha=0.3,
                                        label=self.t("hist_negative"))}
        self.fit_lines = {"fit": fit_axes.plot([], [], color=PALETTE["stable"], linewidth=2.4, label=self.t("fit"))[0],
                          "fit_plain": fit_axes.plot([], [], color=PALETTE["stable"], linewidth=1.4, linestyle="--",
                                                     label=self.t("fit_plain"))[0]}
        self.boundaries = {"fit": fit_axes.axvline(0, color="black", linewidth=1.6, linestyle="-.",
                                                   label=self.t("boundary_line")),
                           "best": fit_axes.axvline(0, color=PALETTE["textbook"], linewidth=2, linestyle=":",
                                                    label=self.t("best_line"))}
        fit_axes.set_xlim(BINS[0], BINS[-1])
        fit_axes.set_ylim(0, 1.05)
        fit_axes.set_xlabel(self.t("feature"))
        fit_axes.set_ylabel(self.t("density"))
        fit_axes.set_title(self.t("title_fit"))
        fit_axes.grid(alpha=0.3)
        # below the panels, so it covers neither the histograms nor the curves
        handles = list(self.loss_lines.values()) + list(self.fit_lines.values()) + list(self.boundaries.values())
        handles += [Patch(facecolor=PALETTE["positive"], alpha=0.45, hatch="//", edgecolor=PALETTE["positive"],
                          label=self.t("hist_positive")),
                    Patch(facecolor=PALETTE["negative"], alpha=0.3, label=self.t("hist_negative"))]
        figure.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
        dynamic = list(self.loss_lines.values()) + list(self.grad_lines.values()) + list(self.histograms.values())
        dynamic += list(self.fit_lines.values()) + list(self.boundaries.values()) + [self.note]
        return figure, dynamic

    def compute(self, pos_weight, positive_share, pos_weight_text=None, positive_share_text=None):
        pos_weight = self.check("pos_weight", pos_weight)
        share = self.check("positive_share", positive_share)
        weight = torch.tensor([pos_weight], dtype=torch.float64)
        # y = 0 is computed with this pos_weight too: that it never moves is the point
        curves = {key: loss_and_gradient(stable.binary_cross_entropy_with_logits, LOGITS, torch.full_like(LOGITS, label),
                                         pos_weight=weight, reduction="none")
                  for key, label in (("positive", 1.0), ("negative", 0.0))}
        curves = {"positive": curves["positive"], "positive_plain": _plain_positive_curve(),
                  "negative": curves["negative"]}
        positives = max(1, round(share * SAMPLES))
        slope, intercept = _weighted_fit(positives, pos_weight)
        plain_slope, plain_intercept = _plain_fit(positives)
        best_feature, best_f1, histogram = _ranking(positives)
        return {"curves": curves, "histogram": histogram, "positives": positives,
                "fit": _sigmoid(slope * FEATURE + intercept), "fit_plain": _sigmoid(plain_slope * FEATURE + plain_intercept),
                "boundary": -intercept / slope, "boundary_plain": -plain_intercept / plain_slope,
                "best": best_feature, "best_f1": best_f1,
                "best_probability": float(_sigmoid(slope * best_feature + intercept))}

    def draw(self, data):
        x = LOGITS.numpy()
        for key, (loss, grad) in data["curves"].items():
            self.loss_lines[key].set_data(x, loss)
            self.grad_lines[key].set_data(x, grad)
        for key, stairs in self.histograms.items():
            stairs.set_data(data["histogram"][key])
        self.fit_lines["fit"].set_data(FEATURE, data["fit"])
        self.fit_lines["fit_plain"].set_data(FEATURE, data["fit_plain"])
        self.boundaries["fit"].set_xdata([data["boundary"]] * 2)
        self.boundaries["best"].set_xdata([data["best"]] * 2)
        self.note.set_text(self.t("note", positives=data["positives"], negatives=SAMPLES - data["positives"],
                                  here=data["boundary"], plain=data["boundary_plain"], f1=data["best_f1"],
                                  best=data["best"], p=data["best_probability"]).replace("-", "−"))
        return False
