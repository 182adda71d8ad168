"""Explorers: ipywidgets controls driving one live matplotlib figure, shown as a PNG.

Each ``*_explorer(lang=None)`` returns an object with ``.widget`` (the ipywidgets root: controls,
a message line and an ``ipywidgets.Image``), ``.controls`` (name -> control), ``.figure`` (the
live Figure) and ``.data`` (what is plotted now). It displays as the live widget plus its current
PNG and a short stable text, so the figure shows on GitHub and in static HTML too. Set a control's
``.value`` (or drag it) and the figure updates in place; a value it cannot draw shows a message in
the widget, saying what is allowed and why, and leaves the last figure. Every slider has a box next
to it that shows, and takes, the exact value drawn (``values()`` reports it). ``lang`` defaults to
:func:`lossviz.set_language`'s. Works with ipywidgets 8 and 7 (Colab).
"""
from ._explorer import Explorer, InputProblem
from .label_smoothing import LabelSmoothingExplorer
from .overflow import OverflowExplorer
from .pos_weight import PosWeightExplorer
from .precision import PrecisionExplorer
from .softmax import SoftmaxExplorer

__all__ = ["Explorer", "InputProblem", "EXPLORERS", "overflow_explorer", "precision_explorer", "softmax_explorer",
           "label_smoothing_explorer", "pos_weight_explorer"]


def overflow_explorer(lang: str | None = None) -> OverflowExplorer:
    """Loss and dL/dx over a logit range for the textbook formula, torch's Sigmoid + BCELoss, the
    logits form and the exact value; the dtype's sigmoid saturation points and the textbook
    formula's inf/NaN regions marked. Controls: label y, dtype, logit range (typed)."""
    return OverflowExplorer(lang)


def precision_explorer(lang: str | None = None) -> PrecisionExplorer:
    """Error in ULPs over x in [-1e4, 1e4] for torch's BCEWithLogits, the log1p form and the
    log(1 + e^-|x|) form, against the exact value. Controls: label y, dtype."""
    return PrecisionExplorer(lang)


def softmax_explorer(lang: str | None = None) -> SoftmaxExplorer:
    """log(softmax(z)) vs log_softmax as K logits spread over [-s, s]: log-probabilities, the loss
    against the spread, and the gradient per class. Controls: K, spread s, target class, dtype."""
    return SoftmaxExplorer(lang)


def label_smoothing_explorer(lang: str | None = None) -> LabelSmoothingExplorer:
    """The smoothed target (torch's eps/K or eps/(K-1)), the loss against the logit margin with
    its finite minimum, and the gradient p - t per class. Controls: eps, K, convention, margin."""
    return LabelSmoothingExplorer(lang)


def pos_weight_explorer(lang: str | None = None) -> PosWeightExplorer:
    """Loss and gradient for y = 1 and y = 0 under pos_weight, and how the p = 0.5 boundary of a
    logistic model moves on an imbalanced example. Controls: pos_weight (slider and typed), share of positives."""
    return PosWeightExplorer(lang)


EXPLORERS = {"overflow_explorer": overflow_explorer, "precision_explorer": precision_explorer,
             "softmax_explorer": softmax_explorer, "label_smoothing_explorer": label_smoothing_explorer,
             "pos_weight_explorer": pos_weight_explorer}
