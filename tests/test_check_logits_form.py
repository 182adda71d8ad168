"""The exercise checks of 03_logits_form: right answers pass, typical mistakes get a useful hint."""
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


def reference_bce(x, y):
    return x.clamp_min(0) - x * y + torch.log1p(torch.exp(-x.abs()))


def reference_gradient(x, y):
    return torch.sigmoid(x) - y


def log_float16_boundary():
    value = torch.tensor(1.0, dtype=torch.float16)
    while torch.log(1 + torch.exp(-value)) != 0:  # walk the float16 values one at a time
        value = torch.nextafter(value, torch.tensor(100.0, dtype=torch.float16))
    return value.item()


# --- logits_bce ---------------------------------------------------------------------------------

def test_logits_bce_accepts_the_log1p_form():
    assert check.logits_bce(reference_bce).passed


def test_logits_bce_accepts_torch_stable_op():
    assert check.logits_bce(lambda x, y: lossviz.stable.binary_cross_entropy_with_logits(x, y, reduction="none")).passed


def test_logits_bce_none_is_not_attempted():
    assert check.logits_bce(None).status == "not_attempted"


def test_logits_bce_without_log1p_gets_the_log1p_hint():
    feedback = check.logits_bce(lambda x, y: x.clamp_min(0) - x * y + torch.log(1 + torch.exp(-x.abs())))
    assert feedback.status == "incorrect"
    assert "log1p" in feedback.message


def test_logits_bce_textbook_formula_gets_the_overflow_hint():
    def textbook(x, y):
        p = torch.sigmoid(x)
        return -(y * torch.log(p) + (1 - y) * torch.log(1 - p))

    feedback = check.logits_bce(textbook)
    assert feedback.status == "incorrect"
    assert "overflowed" in feedback.message


def test_logits_bce_torch_op_is_named():
    feedback = check.logits_bce(lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction="none"))
    assert feedback.status == "incorrect"
    assert "torch's own op" in feedback.message


def test_logits_bce_sign_error_gets_the_formula():
    feedback = check.logits_bce(lambda x, y: x.clamp_min(0) + x * y + torch.log1p(torch.exp(-x.abs())))
    assert feedback.status == "incorrect"
    assert "max(x, 0) - x*y" in feedback.message


@pytest.mark.parametrize("answer", [3.0, "bce", [1, 2]])
def test_logits_bce_wrong_type_is_invalid(answer):
    assert check.logits_bce(answer).status == "invalid"


def test_logits_bce_reduced_result_is_invalid():
    feedback = check.logits_bce(lambda x, y: reference_bce(x, y).mean())
    assert feedback.status == "invalid"
    assert ".mean()" in feedback.message


def test_logits_bce_function_that_raises_is_invalid():
    assert check.logits_bce(lambda x, y: 1 / 0).status == "invalid"


def test_logits_bce_korean(korean):
    feedback = check.logits_bce(lambda x, y: x.clamp_min(0) - x * y + torch.log(1 + torch.exp(-x.abs())))
    assert "반올림" in feedback.message
    assert "정답" in check.logits_bce(reference_bce).message


# --- logits_gradient ----------------------------------------------------------------------------

def test_logits_gradient_accepts_sigmoid_minus_y():
    assert check.logits_gradient(reference_gradient).passed


def test_logits_gradient_none_is_not_attempted():
    assert check.logits_gradient(None).status == "not_attempted"


def test_logits_gradient_flipped_sign():
    feedback = check.logits_gradient(lambda x, y: y - torch.sigmoid(x))
    assert feedback.status == "incorrect"
    assert "sign" in feedback.message


def test_logits_gradient_sigmoid_derivative_is_wrong():
    feedback = check.logits_gradient(lambda x, y: torch.sigmoid(x) * (1 - torch.sigmoid(x)))
    assert feedback.status == "incorrect"
    assert "derivative of the sigmoid alone" in feedback.message


def test_logits_gradient_missing_label():
    feedback = check.logits_gradient(lambda x, y: torch.sigmoid(x))
    assert feedback.status == "incorrect"
    assert "label is missing" in feedback.message


def test_logits_gradient_other_mistakes_get_the_derivation_hint():
    feedback = check.logits_gradient(lambda x, y: torch.sigmoid(x) - 2 * y)
    assert feedback.status == "incorrect"
    assert "Differentiate" in feedback.message


def test_logits_gradient_wrong_type_is_invalid():
    assert check.logits_gradient(0.5).status == "invalid"


def test_logits_gradient_korean(korean):
    assert "부호" in check.logits_gradient(lambda x, y: y - torch.sigmoid(x)).message
    assert "정답" in check.logits_gradient(reference_gradient).message


# --- logits_log_zero_float16 --------------------------------------------------------------------

def test_log_zero_float16_accepts_the_boundary():
    boundary = log_float16_boundary()
    assert check.logits_log_zero_float16(boundary).passed
    assert check.logits_log_zero_float16(torch.tensor(boundary, dtype=torch.float16)).passed


def test_log_zero_float16_none_is_not_attempted():
    assert check.logits_log_zero_float16(None).status == "not_attempted"


def test_log_zero_float16_float32_boundary_is_recognised():
    feedback = check.logits_log_zero_float16(16.635532)
    assert feedback.status == "incorrect"
    assert "float32" in feedback.message


@pytest.mark.parametrize("answer, direction", [(5.0, "higher"), (12.0, "lower")])
def test_log_zero_float16_says_which_way(answer, direction):
    feedback = check.logits_log_zero_float16(answer)
    assert feedback.status == "incorrect"
    assert direction in feedback.message


@pytest.mark.parametrize("answer", ["7.6", [7.6], True, float("nan")])
def test_log_zero_float16_wrong_type_is_invalid(answer):
    assert check.logits_log_zero_float16(answer).status == "invalid"


def test_log_zero_float16_korean(korean):
    assert "높여" in check.logits_log_zero_float16(5.0).message
    assert "정답" in check.logits_log_zero_float16(log_float16_boundary()).message
