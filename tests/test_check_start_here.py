"""The exercise checks of 00_start_here: reference answers pass, typical mistakes get a hint."""
import pytest
import torch
import torch.nn.functional as F

import lossviz
from lossviz import check, numerics


@pytest.fixture
def korean():
    lossviz.set_language("ko")
    yield
    lossviz.set_language("en")


def reported_loss_at_30():
    return F.binary_cross_entropy(torch.sigmoid(torch.tensor(30.0)), torch.tensor(0.0)).item()


def saturation_point():
    return numerics.sigmoid_saturation(torch.float32)[0]


CHECKS = [
    (check.bce_loss_at_30, reported_loss_at_30),
    (check.sigmoid_one_float32, saturation_point),
]


@pytest.mark.parametrize("exercise, solution", CHECKS, ids=lambda c: getattr(c, "__name__", "solution"))
def test_reference_answer_passes(exercise, solution):
    feedback = exercise(solution())
    assert feedback.passed, feedback


@pytest.mark.parametrize("exercise, solution", CHECKS, ids=lambda c: getattr(c, "__name__", "solution"))
def test_a_one_element_tensor_is_accepted(exercise, solution):
    assert exercise(torch.tensor(solution())).passed


@pytest.mark.parametrize("exercise", [c for c, _ in CHECKS], ids=lambda c: c.__name__)
@pytest.mark.parametrize("answer", ["100", [100.0], True])
def test_wrong_type_is_invalid(exercise, answer):
    feedback = exercise(answer)
    assert feedback.status == "invalid", feedback


@pytest.mark.parametrize("answer, hint", [(30.0, "exact loss"), (float("inf"), "textbook formula"),
                                          (99.0, "Run F.binary_cross_entropy")])
def test_loss_at_30_wrong_answers(answer, hint):
    feedback = check.bce_loss_at_30(answer)
    assert feedback.status == "incorrect" and hint in feedback.message, feedback


@pytest.mark.parametrize("answer, direction", [(16.6, "Go higher"), (17.0, "Go lower"),
                                               (numerics.next_toward(saturation_point(), 0.0), "Go higher")])
def test_sigmoid_one_says_which_way(answer, direction):
    feedback = check.sigmoid_one_float32(answer)
    assert feedback.status == "incorrect" and direction in feedback.message, feedback


def test_sigmoid_one_nan_is_invalid():
    assert check.sigmoid_one_float32(float("nan")).status == "invalid"


def test_feedback_is_korean(korean):
    assert "정답입니다" in check.bce_loss_at_30(reported_loss_at_30()).message
    assert "정확한 손실" in check.bce_loss_at_30(30.0).message
    assert "더 높여" in check.sigmoid_one_float32(16.6).message
    assert "아직 풀지 않았습니다" in check.sigmoid_one_float32(None).message


def test_korean_particle_fits_the_number(korean):
    # "30" is read 삼십 (final consonant) and "20.5" 이십 점 오 (vowel): 은 after one, 는 after the other
    assert "30은 정확한 손실" in check.bce_loss_at_30(30.0).message
    message = check.sigmoid_one_float32(20.5).message
    assert "sigmoid(20.5)는 1이지만" in message and "(는)" not in message
