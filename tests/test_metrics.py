"""lossviz.metrics and lossviz.timing against brute force definitions."""
import math

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


# --- arguments: what a student may pass ------------------------------------------------------------

METRICS = {
    "best_f1_threshold": lambda scores, labels: metrics.best_f1_threshold(scores, labels),
    "f1_score": lambda scores, labels: metrics.f1_score(scores, labels, 0.5),
    "average_precision": lambda scores, labels: metrics.average_precision(scores, labels),
    "expected_calibration_error": lambda scores, labels: metrics.expected_calibration_error(scores, labels)[0],
}
NAMES = {"expected_calibration_error": ("confidence", "correct")}


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_lists_and_arrays_give_what_the_tensor_gives(metric):
    import numpy as np

    scores, labels = [0.9, 0.2, 0.7, 0.4, 0.55], [1, 0, 1, 1, 0]
    expected = METRICS[metric](torch.tensor(scores, dtype=torch.float64), torch.tensor(labels))
    for convert in (list, tuple, np.array, lambda v: torch.tensor(v, requires_grad=isinstance(v[0], float))):
        assert METRICS[metric](convert(scores), convert(labels)) == pytest.approx(expected), convert
    assert METRICS[metric](scores, [bool(v) for v in labels]) == pytest.approx(expected)


def test_a_threshold_from_a_list_comes_back_unchanged():
    assert metrics.best_f1_threshold([0.1, 0.3, 0.7], [0, 1, 1])[0] == 0.3  # not float32's 0.30000001


@pytest.mark.parametrize("metric", sorted(METRICS))
@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("bad, error, words", [
    (None, TypeError, "must be a 1-D tensor, array or list of numbers, got NoneType"),
    ("0.5", TypeError, "got str '0.5'"),
    ({"a": 1}, TypeError, "got dict"),
    ([[0.1, 0.2], [0.3]], TypeError, "torch cannot read"),
    ([1 + 2j, 0j, 1j], TypeError, "must hold real numbers, got dtype torch.complex"),
    ([], ValueError, "must hold at least one sample, got an empty one"),
    (torch.zeros(3, 1), ValueError, r"must be 1-D \(one value per sample\), got shape \(3, 1\)"),
    (torch.empty(3, device="meta"), ValueError, "meta device"),
])
def test_a_bad_argument_is_named(metric, which, bad, error, words):
    name = NAMES.get(metric, ("scores", "labels"))[which]
    good = [torch.tensor([0.2, 0.9, 0.6]), torch.tensor([0, 1, 1])]
    good[which] = bad
    with pytest.raises(error, match=f"{metric}\\(\\): argument '{name}' .*{words}"):
        METRICS[metric](*good)


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_nan_scores_are_a_value_error_naming_the_scores(metric):
    name = NAMES.get(metric, ("scores", "labels"))[0]
    with pytest.raises(ValueError, match=f"argument '{name}' must not hold NaN, got 1 NaN of 3 \\(the first at index 1\\)"):
        METRICS[metric](torch.tensor([0.2, float("nan"), 0.6]), torch.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match=f"'{NAMES.get(metric, ('scores', 'labels'))[1]}' must hold 0 and 1 only, got nan"):
        METRICS[metric](torch.tensor([0.2, 0.3, 0.6]), torch.tensor([0.0, float("nan"), 1.0]))


def test_lengths_must_match():
    with pytest.raises(ValueError, match="'scores' and 'labels' must be 1-D of one length, got \\(3,\\) and \\(2,\\)"):
        metrics.average_precision([0.1, 0.2, 0.3], [0, 1])


def test_infinite_scores_rank_like_any_other():
    assert metrics.best_f1_threshold([-math.inf, 0.0, math.inf], [0, 1, 1]) == (0.0, 1.0)
    assert metrics.average_precision(torch.tensor([math.inf, -math.inf]), torch.tensor([1, 0])) == 1.0


def test_f1_threshold_argument():
    scores, labels = [0.2, 0.9], [0, 1]
    assert metrics.f1_score(scores, labels, torch.tensor(0.5)) == 1.0
    assert metrics.f1_score(scores, labels, math.inf) == 0.0 and metrics.f1_score(scores, labels, -math.inf) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="'threshold' must be a number, got nan"):
        metrics.f1_score(scores, labels, math.nan)
    for bad in (None, "0.5", True, torch.tensor([0.1, 0.2])):
        with pytest.raises(TypeError, match="f1_score\\(\\): argument 'threshold' must be a real number, got"):
            metrics.f1_score(scores, labels, bad)


def test_calibration_arguments():
    with pytest.raises(ValueError, match="'confidence' holds probabilities and must lie in \\[0, 1\\], got values from -0.1 to 0.5"):
        metrics.expected_calibration_error([-0.1, 0.5], [1, 0])
    for bad, error in ((0, ValueError), (2.5, TypeError), (True, TypeError), (None, TypeError)):
        with pytest.raises(error, match="'bins' must be"):
            metrics.expected_calibration_error([0.1, 0.5], [1, 0], bins=bad)


def test_timing_arguments_are_checked():
    inputs = lambda: (torch.randn(10, requires_grad=True),)
    total = lambda v: v.sum()
    cases = [
        (([total], inputs), TypeError, "'candidates' must be a dict of name -> loss function, got list"),
        (({}, inputs), ValueError, "'candidates' must name at least one function, got an empty dict"),
        (({"a": 3}, inputs), TypeError, "'candidates' must map each name to a function; 'a' maps to int 3"),
        (({"a": total}, None), TypeError, "'make_inputs' must be a function returning the arguments, got NoneType"),
        (({"a": total}, lambda: 3.0), TypeError, "'make_inputs' must return a tuple of arguments, got float 3.0"),
        (({"a": lambda v: v}, inputs), ValueError, "candidate 'a' must return a one-element loss tensor.*shape \\(10,\\)"),
        (({"a": total}, lambda: (torch.randn(10),)), ValueError, "candidate 'a' returned a loss that does not require grad"),
    ]
    for (candidates, make), error, words in cases:
        with pytest.raises(error, match=f"forward_backward_seconds\\(\\): .*{words}"):
            timing.forward_backward_seconds(candidates, make, 2)
    for bad, error in ((0, ValueError), (2.0, TypeError), (True, TypeError), (None, TypeError)):
        with pytest.raises(error, match="'repetitions' must be"):
            timing.forward_backward_seconds({"a": total}, inputs, bad)
    one_tensor = timing.forward_backward_seconds({"a": total}, lambda: torch.randn(10, requires_grad=True), 2)
    assert one_tensor["a"] > 0  # a single tensor is one argument


def test_ratios_arguments_are_checked():
    with pytest.raises(TypeError, match="ratios\\(\\): argument 'seconds' must be a dict"):
        timing.ratios([1.0], "a")
    for bad in (0.0, -1.0, math.nan, math.inf, None, True):
        with pytest.raises(ValueError, match="ratios\\(\\): argument 'seconds' must hold positive finite times; 'b'"):
            timing.ratios({"a": 1.0, "b": bad}, "a")
    with pytest.raises(ValueError, match="'baseline' must be one of \\['a'\\], got \\['a'\\]"):
        timing.ratios({"a": 1.0}, ["a"])
