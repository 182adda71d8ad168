"""The exercise checks of 01_bce_basics: reference solutions pass, typical mistakes get a hint."""
import pytest
import torch
import torch.nn.functional as F

import lossviz
from lossviz import check


@pytest.fixture
def korean():
    lossviz.set_language("ko")
    yield
    lossviz.set_language("en")


def reference_bce(p, y):
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p))


def reference_weighted_mean(per_pixel, image_weight):
    return (per_pixel * image_weight.view(-1, 1, 1)).mean()


CHECKS = [
    (check.bce_soft_minimum, F.binary_cross_entropy(torch.tensor(0.2), torch.tensor(0.2)).item()),
    (check.bce_formula, reference_bce),
    (check.bce_weighted_mean, reference_weighted_mean),
]


@pytest.mark.parametrize("exercise, solution", CHECKS, ids=lambda c: getattr(c, "__name__", "solution"))
def test_reference_solution_passes(exercise, solution):
    feedback = exercise(solution)
    assert feedback.passed, feedback


@pytest.mark.parametrize("exercise", [c for c, _ in CHECKS], ids=lambda c: c.__name__)
def test_wrong_type_is_invalid(exercise):
    feedback = exercise("an answer")
    assert feedback.status == "invalid", feedback


def test_soft_minimum_accepts_a_tensor_and_three_digits():
    assert check.bce_soft_minimum(torch.tensor(0.5004)).passed


@pytest.mark.parametrize("answer, hint", [(0, "hard label"), (0.2, "where the minimum is"), (1.0, "p = y"),
                                          (0.7219, "bits"), (0.6109, "y = 0.3")])
def test_soft_minimum_wrong_answers(answer, hint):
    feedback = check.bce_soft_minimum(answer)
    assert feedback.status == "incorrect" and hint in feedback.message, feedback


@pytest.mark.parametrize("wrong, hint", [
    (lambda p, y: -reference_bce(p, y), "sign"),
    (lambda p, y: reference_bce(p, 1 - y), "swapped"),
    (lambda p, y: reference_bce(p, y).mean(), "one number"),
    (lambda p, y: -(y * torch.log(p)), "formula"),
    (lambda p, y: torch.where(y > 0.5, -torch.log(p), -torch.log(1 - p)), "soft labels"),
])
def test_formula_wrong_answers(wrong, hint):
    feedback = check.bce_formula(wrong)
    assert feedback.status == "incorrect" and hint in feedback.message, feedback


def test_formula_function_returning_a_list_is_invalid():
    assert check.bce_formula(lambda p, y: reference_bce(p, y).tolist()).status == "invalid"


def test_formula_function_that_raises_is_reported():
    feedback = check.bce_formula(lambda p, y: p.nonexistent())
    assert feedback.status == "invalid" and "AttributeError" in feedback.message


@pytest.mark.parametrize("wrong, hint", [
    (lambda l, w: (l * w.view(-1, 1, 1)).sum() / (w.sum() * l.shape[1] * l.shape[2]), "sum of the weights"),
    (lambda l, w: (l * w).mean(), "(B, 1, 1)"),
    (lambda l, w: (l * w.view(-1, 1, 1)).sum(), "B·H·W"),
])
def test_weighted_mean_wrong_answers(wrong, hint):
    feedback = check.bce_weighted_mean(wrong)
    assert feedback.status == "incorrect" and hint in feedback.message, feedback


def test_weighted_mean_returning_a_tensor_of_losses_is_invalid():
    assert check.bce_weighted_mean(lambda l, w: l * w.view(-1, 1, 1)).status == "invalid"


def test_feedback_is_korean(korean):
    assert "정답입니다" in check.bce_formula(reference_bce).message
    assert "아직 풀지 않았습니다" in check.bce_soft_minimum(None).message
    assert "가중치의 합으로" in check.bce_weighted_mean(
        lambda l, w: (l * w.view(-1, 1, 1)).sum() / (w.sum() * l.shape[1] * l.shape[2])).message
    assert "부호가 반대" in check.bce_formula(lambda p, y: -reference_bce(p, y)).message
    assert "숫자" in check.bce_soft_minimum("x").message


def test_korean_particle_fits_the_number(korean):
    # 0.6109 ends in 9 (구, a vowel), so the particle is 는, not a hard-coded 은
    message = check.bce_soft_minimum(0.6109).message
    assert "0.6109는 그림의" in message and "(는)" not in message
