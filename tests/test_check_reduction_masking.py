"""The exercise checks of 07_reduction_and_masking: reference solutions pass, typical mistakes get a hint."""
import re

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


def reference_divisor():
    weight = torch.tensor([1.0, 2.0, 5.0])
    target = torch.tensor([0, 2, 2, 1, -100, 0])
    return weight[target[target != -100]].sum().item()


def reference_token_mean(logits, target):
    return F.cross_entropy(logits.transpose(1, 2), target)


def reference_masked_mean(loss, mask):
    return (loss * mask).sum() / mask.sum().clamp_min(1)


CHECKS = [
    (check.reduction_class_weight_divisor, reference_divisor()),
    (check.reduction_token_mean, reference_token_mean),
    (check.reduction_safe_masked_mean, reference_masked_mean),
]


def test_divisor_reference_is_what_torch_divides_by():
    logits = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    weight, target = torch.tensor([1.0, 2.0, 5.0]), torch.tensor([0, 2, 2, 1, -100, 0])
    ratio = F.cross_entropy(logits, target, weight=weight, reduction="sum") / F.cross_entropy(logits, target, weight=weight)
    assert ratio.item() == pytest.approx(reference_divisor())


@pytest.mark.parametrize("exercise, solution", CHECKS, ids=lambda c: getattr(c, "__name__", "solution"))
def test_reference_solution_passes(exercise, solution):
    feedback = exercise(solution)
    assert feedback.passed, feedback


def test_other_correct_solutions_pass():
    assert check.reduction_class_weight_divisor(torch.tensor(reference_divisor())).passed
    flat = lambda logits, target: F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
    assert check.reduction_token_mean(flat).passed
    eps_guard = lambda loss, mask: (loss * mask).sum() / mask.sum().clamp_min(1e-8)
    assert check.reduction_safe_masked_mean(eps_guard).passed


@pytest.mark.parametrize("exercise", [c for c, _ in CHECKS], ids=lambda c: c.__name__)
def test_wrong_type_is_invalid(exercise):
    feedback = exercise("an answer")
    assert feedback.status == "invalid", feedback


@pytest.mark.parametrize("answer, hint", [(6, "ignored one included"), (5, "WITHOUT weight="),
                                          (8, "sum of the class weights"), (15, "must not count"), (13, "w[y_i]")])
def test_divisor_wrong_answers(answer, hint):
    feedback = check.reduction_class_weight_divisor(answer)
    assert feedback.status == "incorrect" and hint in feedback.message, feedback


@pytest.mark.parametrize("wrong, hint", [
    (lambda logits, target: F.cross_entropy(logits, target), "dimension 1"),
    (lambda logits, target: F.cross_entropy(logits.transpose(1, 2), target, reduction="none").mean(), "B·L"),
    (lambda logits, target: (F.cross_entropy(logits.transpose(1, 2), target, reduction="none").sum(1)
                             / (target != -100).sum(1)).mean(), "sequence"),
    (lambda logits, target: F.cross_entropy(logits.transpose(1, 2), target, reduction="sum"), "torch gives"),
])
def test_token_mean_wrong_answers(wrong, hint):
    feedback = check.reduction_token_mean(wrong)
    assert feedback.status == "incorrect" and hint in feedback.message, feedback


def test_token_mean_returning_per_token_losses_is_invalid():
    feedback = check.reduction_token_mean(lambda logits, target: F.cross_entropy(logits.transpose(1, 2), target,
                                                                                reduction="none"))
    assert feedback.status == "invalid"


@pytest.mark.parametrize("wrong, hint", [
    (lambda loss, mask: (loss * mask).sum() / mask.sum(), "clamp_min(1)"),
    (lambda loss, mask: (loss * mask).mean(), "mask.sum()"),
    (lambda loss, mask: torch.tensor(0.0) if mask.sum() == 0 else (loss * mask).sum() / mask.sum(), "backward()"),
    (lambda loss, mask: torch.where(mask.sum() > 0, (loss * mask).sum() / mask.sum(), 0.0), "gradient"),
    (lambda loss, mask: (loss * mask).sum() / mask.sum().clamp_min(1) + (mask.sum() == 0).float(), "should be 0"),
])
def test_masked_mean_wrong_answers(wrong, hint):
    feedback = check.reduction_safe_masked_mean(wrong)
    assert feedback.status == "incorrect" and hint in feedback.message, feedback


def test_masked_mean_returning_a_float_is_invalid():
    feedback = check.reduction_safe_masked_mean(lambda loss, mask: reference_masked_mean(loss, mask).item())
    assert feedback.status == "invalid" and ".item()" in feedback.message


def test_feedback_is_korean(korean):
    assert "정답입니다" in check.reduction_safe_masked_mean(reference_masked_mean).message
    assert "아직 풀지 않았습니다" in check.reduction_token_mean(None).message
    assert "weight= 없이" in check.reduction_class_weight_divisor(5).message
    assert "1번 차원" in check.reduction_token_mean(lambda logits, target: F.cross_entropy(logits, target)).message
    assert "마스크가 모두 0" in check.reduction_safe_masked_mean(lambda loss, mask: (loss * mask).sum() / mask.sum()).message


def test_korean_particle_after_the_expected_mean(korean):
    message = check.reduction_safe_masked_mean(lambda loss, mask: 2 * (loss * mask).sum() / mask.sum()).message
    expected = re.search(r"= ([0-9.]+)(이|가) 나와야", message)
    assert expected is not None, message
    # how the last digit is read: 영 일 이 삼 사 오 육 칠 팔 구; a final consonant takes 이, a vowel 가
    consonant = {"0": True, "1": True, "2": False, "3": True, "4": False, "5": False, "6": True, "7": True,
                 "8": True, "9": False}
    assert expected.group(2) == ("이" if consonant[expected.group(1)[-1]] else "가"), message
