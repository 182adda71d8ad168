"""Exercise checks of 02_where_sigmoid_bce_breaks: reference answers pass, typical mistakes get a hint,
wrong types are reported (never raised), and the feedback follows lossviz.set_language."""
import math

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


def float32_saturation():
    return numerics.sigmoid_saturation(torch.float32)


def reference_mask(x):
    upper, lower = float32_saturation()
    return (x >= upper) | (x <= lower)


# --- breaks_clamped_gradient ---------------------------------------------------------------------

def measured_gradient():
    logit = torch.tensor([-40.0], requires_grad=True)
    F.binary_cross_entropy(torch.sigmoid(logit), torch.tensor([1.0])).backward()
    return logit.grad.item()


def test_clamped_gradient_reference_passes():
    assert check.breaks_clamped_gradient(measured_gradient()).passed
    assert check.breaks_clamped_gradient(-math.exp(-40.0) / 1e-12).passed  # predicted from the backward line
    assert check.breaks_clamped_gradient(torch.tensor(measured_gradient())).passed


def test_clamped_gradient_not_attempted():
    assert check.breaks_clamped_gradient(None).status == "not_attempted"


@pytest.mark.parametrize("wrong, hint", [(-1.0, "exact gradient"), (0.0, "Not 0"), (4.248e-06, "sign"),
                                         (-0.5, "Hint"), (-math.exp(-40.0), "1e-12 instead")])
def test_clamped_gradient_wrong_answers_get_hints(wrong, hint):
    feedback = check.breaks_clamped_gradient(wrong)
    assert feedback.status == "incorrect"
    assert hint in feedback.message


def test_clamped_gradient_wrong_type_is_invalid():
    assert check.breaks_clamped_gradient("-4e-6").status == "invalid"
    assert check.breaks_clamped_gradient([1.0]).status == "invalid"


def test_clamped_gradient_korean(korean):
    assert "정답" in check.breaks_clamped_gradient(measured_gradient()).message
    assert "정확한 그래디언트" in check.breaks_clamped_gradient(-1.0).message


# --- breaks_textbook_mask ------------------------------------------------------------------------

def test_textbook_mask_reference_passes():
    assert check.breaks_textbook_mask(reference_mask).passed
    # an answer that really calls the formula is right too
    from lossviz import naive
    assert check.breaks_textbook_mask(
        lambda x: ~torch.isfinite(naive.binary_cross_entropy_with_logits(x, torch.zeros_like(x), reduction="none"))).passed


def test_textbook_mask_not_attempted():
    assert check.breaks_textbook_mask(None).status == "not_attempted"


def test_textbook_mask_strict_comparison_gets_the_boundary_hint():
    upper, lower = float32_saturation()
    feedback = check.breaks_textbook_mask(lambda x: (x > upper) | (x < lower))
    assert feedback.status == "incorrect"
    assert ">=" in feedback.message


def test_textbook_mask_rounded_boundary_gets_a_hint():
    feedback = check.breaks_textbook_mask(lambda x: (x >= 16.64) | (x <= -88.72))
    assert feedback.status == "incorrect"
    assert "upper and lower themselves" in feedback.message


def test_textbook_mask_one_side_only_gets_a_hint():
    upper, _ = float32_saturation()
    feedback = check.breaks_textbook_mask(lambda x: x >= upper)
    assert feedback.status == "incorrect"
    assert "both sides" in feedback.message


@pytest.mark.parametrize("answer", [42, "x >= 16.6", lambda x: [True] * len(x), lambda x: (x > 0)[:3]])
def test_textbook_mask_wrong_type_is_invalid(answer):
    assert check.breaks_textbook_mask(answer).status == "invalid"


def test_textbook_mask_raising_function_is_feedback():
    feedback = check.breaks_textbook_mask(lambda x: 1 / 0)
    assert feedback.status == "invalid"
    assert "ZeroDivisionError" in feedback.message


def test_textbook_mask_korean(korean):
    assert "정답" in check.breaks_textbook_mask(reference_mask).message
    upper, _ = float32_saturation()
    assert "양쪽" in check.breaks_textbook_mask(lambda x: x >= upper).message


# --- breaks_bfloat16_clamp -----------------------------------------------------------------------

def bfloat16_start():
    return numerics.find_boundary(
        lambda x: F.binary_cross_entropy(torch.sigmoid(x), torch.zeros_like(x)).item() == 100.0, 0.0, 100.0,
        torch.bfloat16)


def test_bfloat16_clamp_reference_passes():
    assert check.breaks_bfloat16_clamp(bfloat16_start()).passed
    assert check.breaks_bfloat16_clamp(numerics.sigmoid_saturation(torch.bfloat16)[0]).passed
    assert check.breaks_bfloat16_clamp(torch.tensor(bfloat16_start(), dtype=torch.bfloat16)).passed


def test_bfloat16_clamp_not_attempted():
    assert check.breaks_bfloat16_clamp(None).status == "not_attempted"


def test_bfloat16_clamp_float32_point_gets_a_hint():
    feedback = check.breaks_bfloat16_clamp(float32_saturation()[0])
    assert feedback.status == "incorrect"
    assert "float32" in feedback.message


@pytest.mark.parametrize("wrong, direction", [(2 * 6.25, "lower"), (3.0, "higher")])
def test_bfloat16_clamp_says_which_way(wrong, direction):
    feedback = check.breaks_bfloat16_clamp(wrong)
    assert feedback.status == "incorrect"
    assert direction in feedback.message


def test_bfloat16_clamp_float16_point_gets_a_hint():
    feedback = check.breaks_bfloat16_clamp(numerics.sigmoid_saturation(torch.float16)[0])
    assert feedback.status == "incorrect"
    assert "float16" in feedback.message


def test_bfloat16_clamp_wrong_type_is_invalid():
    assert check.breaks_bfloat16_clamp("6.25").status == "invalid"
    assert check.breaks_bfloat16_clamp(True).status == "invalid"
    assert check.breaks_bfloat16_clamp(float("nan")).status == "invalid"


def test_bfloat16_clamp_korean(korean):
    assert "정답" in check.breaks_bfloat16_clamp(bfloat16_start()).message
    assert "낮춰" in check.breaks_bfloat16_clamp(12.5).message


def test_clamped_gradient_korean_particle_fits_the_number(korean):
    # -e^-40 = -4.248e-18 ends in 8 (팔, final ㄹ): 은, written as 은(는) in the template
    message = check.breaks_clamped_gradient(-math.exp(-40.0)).message
    assert "-4.248e-18은 역전파가" in message and "(는)" not in message
