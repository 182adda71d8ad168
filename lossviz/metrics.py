"""Evaluation numbers the notebooks compare losses by: F1 and its best threshold, PR-AUC, ECE.

Small, vectorised torch implementations, so an imbalance or calibration experiment reads as a
few lines in a notebook.

Inputs: scores and labels may be tensors (any device; they are read on the CPU, detached),
numpy arrays, or lists/tuples of numbers, such as predictions collected in a loop: they are
converted, since an evaluation helper is not a drop-in for a torch function and a list is the
usual way to collect scores. Anything else (None, a string, a ragged or nested list, complex
numbers) is a TypeError naming the argument; an empty input, NaN scores, labels other than 0 and
1 or arguments of different lengths are a ValueError naming the argument, what was expected and
what came.
"""
from __future__ import annotations

import math
from numbers import Real

import torch


def _describe(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        return f"a {value.dtype} {type(value).__name__} of shape {tuple(value.shape)}"
    if isinstance(value, (int, float, str)):
        return f"{type(value).__name__} {value!r}"
    return type(value).__name__


def _as_vector(func: str, name: str, value) -> torch.Tensor:
    """``value`` as a 1-D float64 CPU tensor (converted from a list, tuple or array)."""
    if value is None or isinstance(value, (str, bytes, dict, set)) or not (
            isinstance(value, (torch.Tensor, list, tuple)) or hasattr(value, "__array__")):
        raise TypeError(f"{func}(): argument '{name}' must be a 1-D tensor, array or list of numbers, "
                        f"got {_describe(value)}")
    if not isinstance(value, torch.Tensor):
        try:
            # a list of Python floats is float64: read it as such, so a threshold comes back unchanged
            value = torch.as_tensor(value, dtype=torch.float64) if isinstance(value, (list, tuple)) else torch.as_tensor(value)
        except (TypeError, ValueError, RuntimeError):
            value = _as_any_tensor(func, name, value)
    if value.is_complex() or not (value.is_floating_point() or value.dtype in _INTEGERS):
        raise TypeError(f"{func}(): argument '{name}' must hold real numbers, got dtype {value.dtype}")
    if value.dim() != 1:
        raise ValueError(f"{func}(): argument '{name}' must be 1-D (one value per sample), "
                         f"got shape {tuple(value.shape)}")
    if value.numel() == 0:
        raise ValueError(f"{func}(): argument '{name}' must hold at least one sample, got an empty one")
    if value.device.type == "meta":
        raise ValueError(f"{func}(): argument '{name}' must hold values, got a tensor on the meta device")
    return value.detach().to("cpu", torch.float64)


def _as_any_tensor(func: str, name: str, value) -> torch.Tensor:
    try:
        return torch.as_tensor(value)  # complex numbers, say: the dtype check names them
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(f"{func}(): argument '{name}' must be a 1-D tensor, array or list of numbers, "
                        f"got a {type(value).__name__} torch cannot read as one ({error})") from None


_INTEGERS = (torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def _scores_and_labels(func, scores, labels, names=("scores", "labels")):
    scores = _as_vector(func, names[0], scores)
    labels = _as_vector(func, names[1], labels)
    if labels.shape != scores.shape:
        raise ValueError(f"{func}(): arguments '{names[0]}' and '{names[1]}' must be 1-D of one length, got "
                         f"{tuple(scores.shape)} and {tuple(labels.shape)}")
    nan = torch.isnan(scores)
    if bool(nan.any()):
        raise ValueError(f"{func}(): argument '{names[0]}' must not hold NaN, got {int(nan.sum())} NaN of "
                         f"{len(scores)} (the first at index {int(nan.nonzero()[0])}); a model that "
                         "produced NaN needs fixing before it is evaluated")
    if bool(((labels != 0) & (labels != 1)).any()):
        odd = labels[(labels != 0) & (labels != 1)]
        raise ValueError(f"{func}(): argument '{names[1]}' must hold 0 and 1 only, got {odd[0].item():g} "
                         f"({len(odd)} value(s) other than 0 and 1)")
    return scores, labels


def _real_number(func: str, name: str, value) -> float:
    """A real Python number or one-element tensor; ±inf allowed, NaN not."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex() and value.dtype != torch.bool:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{func}(): argument '{name}' must be a real number, got {_describe(value)}")
    if math.isnan(value):
        raise ValueError(f"{func}(): argument '{name}' must be a number, got nan")
    return float(value)


def best_f1_threshold(scores: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """The threshold (predict positive when score >= it) with the highest F1, and that F1.

    Scores may be logits or probabilities: only their order matters. Pick the threshold on
    validation data, then report F1 on test data at that threshold.
    """
    scores, labels = _scores_and_labels("best_f1_threshold", scores, labels)
    order = torch.argsort(scores, descending=True, stable=True)
    true_positives = torch.cumsum(labels[order], 0)
    predicted = torch.arange(1, len(scores) + 1, dtype=torch.float64)
    f1 = 2 * true_positives / (predicted + labels.sum())
    # ties: a threshold admits every example with an equal score, so only the last of a run counts
    sorted_scores = scores[order]
    last_of_tie = torch.ones_like(f1, dtype=torch.bool)
    last_of_tie[:-1] = sorted_scores[:-1] != sorted_scores[1:]
    f1 = torch.where(last_of_tie, f1, torch.zeros_like(f1))
    best = int(torch.argmax(f1))
    return float(sorted_scores[best]), float(f1[best])


def f1_score(scores: torch.Tensor, labels: torch.Tensor, threshold: float) -> float:
    """F1 of predicting positive where score >= threshold (a number; ±inf predicts all / none)."""
    scores, labels = _scores_and_labels("f1_score", scores, labels)
    threshold = _real_number("f1_score", "threshold", threshold)
    predicted = (scores >= threshold).to(torch.float64)
    true_positives = (predicted * labels).sum()
    denominator = predicted.sum() + labels.sum()
    return float(2 * true_positives / denominator) if denominator > 0 else 0.0


def average_precision(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """PR-AUC as average precision: the mean of the precision at each positive, ranked by score."""
    scores, labels = _scores_and_labels("average_precision", scores, labels)
    if labels.sum() == 0:
        raise ValueError("average_precision(): argument 'labels' holds no positive; PR-AUC is undefined")
    order = torch.argsort(scores, descending=True, stable=True)
    ranked = labels[order]
    precision = torch.cumsum(ranked, 0) / torch.arange(1, len(ranked) + 1, dtype=torch.float64)
    return float((precision * ranked).sum() / ranked.sum())


def expected_calibration_error(confidence: torch.Tensor, correct: torch.Tensor, bins: int = 15):
    """ECE: the gap between confidence and accuracy, averaged over equal-width confidence bins.

    Args:
        confidence: probability of the predicted class, in [0, 1], shape (N,).
        correct: 1 where the prediction was right, 0 where wrong, shape (N,).
        bins: number of equal-width bins over [0, 1].

    Returns ``(ece, bin_confidence, bin_accuracy, bin_count)``; empty bins hold NaN and count 0.
    """
    func = "expected_calibration_error"
    confidence, correct = _scores_and_labels(func, confidence, correct, ("confidence", "correct"))
    if isinstance(bins, bool) or not isinstance(bins, int):
        raise TypeError(f"{func}(): argument 'bins' must be an int, got {_describe(bins)}")
    if bins < 1:
        raise ValueError(f"{func}(): argument 'bins' must be at least 1, got {bins}")
    low, high = torch.aminmax(confidence)
    if low.item() < 0 or high.item() > 1:
        raise ValueError(f"{func}(): argument 'confidence' holds probabilities and must lie in [0, 1], "
                         f"got values from {low.item():.6g} to {high.item():.6g}")
    index = torch.clamp((confidence * bins).long(), max=bins - 1)
    count = torch.bincount(index, minlength=bins).to(torch.float64)
    total_confidence = torch.bincount(index, weights=confidence, minlength=bins)
    total_correct = torch.bincount(index, weights=correct, minlength=bins)
    safe = count.clamp_min(1)
    mean_confidence = torch.where(count > 0, total_confidence / safe, torch.nan)
    accuracy = torch.where(count > 0, total_correct / safe, torch.nan)
    ece = float(((total_confidence - total_correct).abs()).sum() / len(confidence))
    return ece, mean_confidence, accuracy, count.long()
