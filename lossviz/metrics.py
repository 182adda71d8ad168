"""Evaluation numbers the notebooks compare losses by: F1 and its best threshold, PR-AUC, ECE.

Small, vectorised torch implementations with the argument checks of the rest of the package,
so an imbalance or calibration experiment reads as a few lines in a notebook.
"""
from __future__ import annotations

import torch

from . import _validate as check


def _scores_and_labels(func, scores, labels):
    check.tensor(func, "scores", scores)
    check.tensor(func, "labels", labels, floating=False) if not labels.is_floating_point() else None
    if scores.dim() != 1 or labels.shape != scores.shape:
        raise ValueError(f"{func}(): arguments 'scores' and 'labels' must be 1-D of one length, got "
                         f"{tuple(scores.shape)} and {tuple(labels.shape)}")
    labels = labels.to(torch.float64)
    if bool(((labels != 0) & (labels != 1)).any()):
        raise ValueError(f"{func}(): argument 'labels' must hold 0 and 1 only")
    return scores.detach().to(torch.float64), labels


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
    """F1 of predicting positive where score >= threshold."""
    scores, labels = _scores_and_labels("f1_score", scores, labels)
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
    confidence, correct = _scores_and_labels(func, confidence, correct)
    check.integer(func, "bins", bins, minimum=1)
    check.unit_interval(func, "confidence", confidence, "probabilities")
    index = torch.clamp((confidence * bins).long(), max=bins - 1)
    count = torch.bincount(index, minlength=bins).to(torch.float64)
    total_confidence = torch.bincount(index, weights=confidence, minlength=bins)
    total_correct = torch.bincount(index, weights=correct, minlength=bins)
    safe = count.clamp_min(1)
    mean_confidence = torch.where(count > 0, total_confidence / safe, torch.nan)
    accuracy = torch.where(count > 0, total_correct / safe, torch.nan)
    ece = float(((total_confidence - total_correct).abs()).sum() / max(len(confidence), 1))
    return ece, mean_confidence, accuracy, count.long()
