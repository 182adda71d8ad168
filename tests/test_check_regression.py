"""The exercise checks of 09_regression: reference solutions pass, typical mistakes get a hint."""
import pytest
import torch

import lossviz
from lossviz import check


@pytest.fixture
def korean():
    lossviz.set_language("ko")
    yield
    lossviz.set_language("en")


def mse_gradient(prediction, target):
    return 2 / prediction.numel() * (prediction - target)


def huber_gradient(residual, delta):
    return residual.clamp(-delta, delta)


def l1_constant(values):
    return values.median()


CHECKS = [
    (check.regression_mse_gradient, mse_gradient),
    (check.regression_huber_gradient, huber_gradient),
    (check.regression_l1_constant, l1_constant),
]
IDS = [exercise.__name__ for exercise, _ in CHECKS]


@pytest.mark.parametrize("exercise, solution", CHECKS, ids=IDS)
def test_reference_solution_passes(exercise, solution):
    feedback = exercise(solution)
    assert feedback.passed, feedback


@pytest.mark.parametrize("exercise", [c for c, _ in CHECKS], ids=IDS)
@pytest.mark.parametrize("wrong_type", ["an answer", 3.0, torch.zeros(3)])
def test_wrong_type_is_invalid(exercise, wrong_type):
    feedback = exercise(wrong_type)
    assert feedback.status == "invalid", feedback


def test_a_function_that_raises_is_invalid_not_an_exception():
    feedback = check.regression_mse_gradient(lambda prediction, target: prediction.undefined_method())
    assert feedback.status == "invalid" and "AttributeError" in feedback.message, feedback


def textbook_median(values):
    """The middle value, or the midpoint of the two middle values for an even count."""
    ordered, middle = values.sort().values, len(values) // 2
    return ordered[middle] if len(values) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def test_the_l1_constant_accepts_any_minimiser_between_the_middle_values():
    # torch.median returns the lower middle value; for an even count the midpoint is just as good
    assert check.regression_l1_constant(textbook_median).passed


@pytest.mark.parametrize("wrong, hint", [
    (lambda p, t: 2 * (p - t), "divides by N"),
    (lambda p, t: (p - t) / p.numel(), "factor 2"),
    (lambda p, t: 2 / p.numel() * (t - p), "sign"),
    (lambda p, t: 2 * (p - t) / p.shape[0], "every element"),
    (lambda p, t: (p - t).sum(), "shape"),
])
def test_mse_gradient_wrong_answers(wrong, hint):
    feedback = check.regression_mse_gradient(wrong)
    assert feedback.status == "incorrect" and hint in feedback.message, feedback


@pytest.mark.parametrize("wrong, hint", [
    (lambda r, delta: (r / delta).clamp(-1, 1), "smooth_l1_loss"),
    (lambda r, delta: r, "without bound"),
    (lambda r, delta: torch.sign(r), "L1's gradient"),
    (lambda r, delta: r.clamp(-1, 1), "clip at ±1"),
    (lambda r, delta: r.clamp(-3 * delta, 3 * delta), "autograd"),
])
def test_huber_gradient_wrong_answers(wrong, hint):
    feedback = check.regression_huber_gradient(wrong)
    assert feedback.status == "incorrect" and hint in feedback.message, feedback


@pytest.mark.parametrize("wrong, hint", [
    (lambda values: values.mean(), "the mean"),
    (lambda values: 0.0, "as many points above"),
])
def test_l1_constant_wrong_answers(wrong, hint):
    feedback = check.regression_l1_constant(wrong)
    assert feedback.status == "incorrect" and hint in feedback.message, feedback


def test_feedback_is_korean(korean):
    assert "정답" in check.regression_mse_gradient(mse_gradient).message
    assert "2가 빠졌습니다" in check.regression_mse_gradient(lambda p, t: (p - t) / p.numel()).message
    assert "smooth_l1_loss" in check.regression_huber_gradient(lambda r, delta: (r / delta).clamp(-1, 1)).message
    assert "평균" in check.regression_l1_constant(lambda values: values.mean()).message
    assert "아직 풀지 않았습니다" in check.regression_l1_constant(None).message
    assert "함수를 넣어야" in check.regression_huber_gradient(2.0).message
