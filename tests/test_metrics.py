"""lossviz.metrics and lossviz.timing against brute force definitions."""
import pytest
import torch

from lossviz import metrics, timing


def brute_f1(scores, labels, threshold):
    predicted = [s >= threshold for s in scores]
    tp = sum(p and l for p, l in zip(predicted, labels))
    return 2 * tp / (sum(predicted) + sum(labels)) if (sum(predicted) + sum(labels)) else 0.0


def test_best_f1_threshold_is_the_best_of_all_thresholds():
    generator = torch.Generator().manual_seed(3)
    scores = torch.randint(0, 12, (60,), generator=generator).double()  # ties on purpose
    labels = (torch.rand(60, generator=generator) < 0.3).long()
    threshold, best = metrics.best_f1_threshold(scores, labels)
    every = {t: brute_f1(scores.tolist(), labels.tolist(), t) for t in scores.tolist()}
    assert best == pytest.approx(max(every.values()))
    assert metrics.f1_score(scores, labels, threshold) == pytest.approx(best)


def test_average_precision_matches_the_definition():
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5])
    labels = torch.tensor([1, 0, 1, 0, 1])
    # precision at each positive: 1/1, 2/3, 3/5
    assert metrics.average_precision(scores, labels) == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)
    with pytest.raises(ValueError, match="no positive"):
        metrics.average_precision(scores, torch.zeros(5, dtype=torch.long))


def test_expected_calibration_error():
    confidence = torch.tensor([0.95, 0.95, 0.95, 0.95, 0.55, 0.55])
    correct = torch.tensor([1, 1, 1, 0, 1, 0])
    ece, mean_confidence, accuracy, count = metrics.expected_calibration_error(confidence, correct, bins=10)
    # bin 9: confidence 0.95, accuracy 0.75 (4 samples); bin 5: 0.55 vs 0.5 (2 samples)
    assert ece == pytest.approx((4 * 0.2 + 2 * 0.05) / 6)
    assert count[9] == 4 and count[5] == 2 and count.sum() == 6
    assert torch.isnan(accuracy[0]) and accuracy[9] == pytest.approx(0.75)


def test_metric_arguments_are_checked():
    with pytest.raises(ValueError, match="'labels' must hold 0 and 1"):
        metrics.best_f1_threshold(torch.rand(3), torch.tensor([0, 2, 1]))
    with pytest.raises(ValueError, match="1-D of one length"):
        metrics.f1_score(torch.rand(3), torch.tensor([0, 1]), 0.5)
    with pytest.raises(ValueError, match="'confidence'.*\\[0, 1\\]"):
        metrics.expected_calibration_error(torch.tensor([1.5]), torch.tensor([1]))


def test_timing_ratios():
    x = lambda: (torch.randn(1000, requires_grad=True),)
    seconds = timing.forward_backward_seconds({"a": lambda v: v.sum(), "b": lambda v: (v.exp() * 2).sum()}, x, 3)
    assert set(seconds) == {"a", "b"} and all(s > 0 for s in seconds.values())
    assert timing.ratios(seconds, "a")["a"] == 1.0
    with pytest.raises(ValueError, match="'baseline'"):
        timing.ratios(seconds, "c")
