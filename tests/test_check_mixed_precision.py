"""Exercise checks of 08_mixed_precision: reference answers pass, typical mistakes get a hint, wrong
types are reported (never raised), and the feedback follows lossviz.set_language."""
import math

import pytest
import torch
import torch.nn.functional as F

import lossviz
from lossviz import check, naive, numerics, stable
from lossviz.check.mixed_precision import float16_logit_gradient


@pytest.fixture
def korean():
    lossviz.set_language("ko")
    yield
    lossviz.set_language("en")


# --- mixed_float16_inf_gradient ------------------------------------------------------------------

def first_infinite_gradient():
    def not_finite(x):
        logit = x.clone().requires_grad_()
        F.binary_cross_entropy(torch.sigmoid(logit), torch.ones_like(logit)).backward()
        return not bool(torch.isfinite(logit.grad).all())
    return numerics.find_boundary(not_finite, 0.0, -100.0, torch.float16)


def test_inf_gradient_reference_passes():
    start = first_infinite_gradient()
    assert start < -math.log(torch.finfo(torch.float16).max) < numerics.next_toward(start, 0.0, torch.float16)
    assert check.mixed_float16_inf_gradient(start).passed
    assert check.mixed_float16_inf_gradient(torch.tensor(start, dtype=torch.float16)).passed


def test_inf_gradient_not_attempted():
    assert check.mixed_float16_inf_gradient(None).status == "not_attempted"


@pytest.mark.parametrize("wrong, hint", [(-17.34375, "NaN"), (-15.0, "toward 0"), (-5.0, "still finite"),
                                         (11.09375, "negative")])
def test_inf_gradient_wrong_answers_get_hints(wrong, hint):
    feedback = check.mixed_float16_inf_gradient(wrong)
    assert feedback.status == "incorrect"
    assert hint in feedback.message


def test_inf_gradient_wrong_type_is_invalid():
    assert check.mixed_float16_inf_gradient("-11").status == "invalid"
    assert check.mixed_float16_inf_gradient(torch.tensor([-11.0, -12.0])).status == "invalid"


def test_inf_gradient_korean(korean):
    assert "정답" in check.mixed_float16_inf_gradient(first_infinite_gradient()).message
    assert "0 쪽으로" in check.mixed_float16_inf_gradient(-15.0).message


# --- mixed_safe_loss -----------------------------------------------------------------------------

@pytest.mark.parametrize("reference", [
    F.binary_cross_entropy_with_logits,
    stable.binary_cross_entropy_with_logits,
    lambda logits, labels: torch.nn.BCEWithLogitsLoss()(logits, labels),
])
def test_safe_loss_references_pass(reference):
    assert check.mixed_safe_loss(reference).passed


def test_safe_loss_not_attempted():
    assert check.mixed_safe_loss(None).status == "not_attempted"


@pytest.mark.parametrize("wrong, hint", [
    (lambda logits, labels: F.binary_cross_entropy(torch.sigmoid(logits), labels), "not finite"),
    (naive.binary_cross_entropy_with_logits, "not finite"),
    # a float32 sigmoid survives float16, but torch's clamp still bends the gradient
    (lambda logits, labels: F.binary_cross_entropy(torch.sigmoid(logits.float()), labels.float()), "gradient"),
    (lambda logits, labels: F.binary_cross_entropy_with_logits(logits, labels, reduction="sum"), "mean"),
])
def test_safe_loss_wrong_answers_get_hints(wrong, hint):
    feedback = check.mixed_safe_loss(wrong)
    assert feedback.status == "incorrect"
    assert hint in feedback.message


@pytest.mark.parametrize("answer", [
    0.5,
    lambda logits, labels: F.binary_cross_entropy_with_logits(logits, labels, reduction="none"),
    lambda logits, labels: 1.0,
    lambda logits, labels: F.binary_cross_entropy_with_logits(logits.detach(), labels),
])
def test_safe_loss_wrong_type_is_invalid(answer):
    assert check.mixed_safe_loss(answer).status == "invalid"


def test_safe_loss_raising_function_is_feedback():
    feedback = check.mixed_safe_loss(lambda logits: logits.sum())
    assert feedback.status == "invalid"
    assert "TypeError" in feedback.message


def test_safe_loss_korean(korean):
    assert "정답" in check.mixed_safe_loss(F.binary_cross_entropy_with_logits).message
    assert "로짓" in check.mixed_safe_loss(lambda a, b: F.binary_cross_entropy(torch.sigmoid(a), b)).message


def right_loss_wrong_gradient(logits, labels):
    loss = F.binary_cross_entropy_with_logits(logits.float(), labels.float()).detach()
    return loss + 0.5 * (logits - logits.detach()).float().sum()  # value right, dL/dx = 0.5


@pytest.mark.parametrize("answer", [
    right_loss_wrong_gradient,
    lambda a, b: F.binary_cross_entropy(torch.sigmoid(a), b),  # not finite in float16
])
def test_safe_loss_korean_particles_resolved(korean, answer):
    message = check.mixed_safe_loss(answer).message
    assert "그래디언트" in message
    assert not any(pair in message for pair in ("이(가)", "(으)로", "을(를)", "은(는)")), message


# --- mixed_smallest_scale ------------------------------------------------------------------------

def smallest_scale():
    return next(2.0 ** k for k in range(31) if float16_logit_gradient(2.0 ** k) != 0.0)


def test_smallest_scale_reference_passes():
    scale = smallest_scale()
    assert float16_logit_gradient(scale / 2) == 0.0 != float16_logit_gradient(scale)
    assert check.mixed_smallest_scale(scale).passed
    assert check.mixed_smallest_scale(int(scale)).passed


def test_smallest_scale_not_attempted():
    assert check.mixed_smallest_scale(None).status == "not_attempted"


@pytest.mark.parametrize("wrong, hint", [("bigger", "smaller power of two works too"), ("smaller", "still 0"),
                                         ("exponent", "exponent"), ("odd", "power of two")])
def test_smallest_scale_wrong_answers_get_hints(wrong, hint):
    scale = smallest_scale()
    value = {"bigger": 65536.0, "smaller": 1.0, "exponent": math.log2(scale), "odd": 3.0 * scale}[wrong]
    feedback = check.mixed_smallest_scale(value)
    assert feedback.status == "incorrect"
    assert hint in feedback.message


def test_smallest_scale_exponent_that_is_also_too_small_says_still_0():
    scale = smallest_scale()
    feedback = check.mixed_smallest_scale(math.log2(scale))  # 2: the exponent, and as a scale still too small
    assert math.log2(scale) < scale
    assert feedback.status == "incorrect"
    assert "still 0" in feedback.message and "2**k" in feedback.message


def test_smallest_scale_wrong_type_is_invalid():
    assert check.mixed_smallest_scale("4").status == "invalid"
    assert check.mixed_smallest_scale([4.0]).status == "invalid"


def test_smallest_scale_korean(korean):
    assert "정답" in check.mixed_smallest_scale(smallest_scale()).message
    assert "더 키워" in check.mixed_smallest_scale(1.0).message
