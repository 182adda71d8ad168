"""The exercise checks of 04_cross_entropy: right answers pass, typical mistakes get a useful hint."""
import pytest
import torch

import lossviz
from lossviz import check


@pytest.fixture
def korean():
    lossviz.set_language("ko")
    yield
    lossviz.set_language("en")


def reference_log_softmax(z):
    top = z.max(dim=1, keepdim=True).values
    return (z - top) - torch.log(torch.exp(z - top).sum(dim=1, keepdim=True))


def reference_two_class_logits(x):
    return torch.stack([torch.zeros_like(x), x], dim=1)


def reference_pos_weight(targets):
    positives = targets.sum(dim=0)
    return (targets.shape[0] - positives) / positives


# --- ce_log_softmax -----------------------------------------------------------------------------

def test_log_softmax_accepts_logsumexp():
    assert check.ce_log_softmax(reference_log_softmax).passed


def test_log_softmax_none_is_not_attempted():
    assert check.ce_log_softmax(None).status == "not_attempted"


def test_log_softmax_naive_form_gets_the_shift_hint():
    feedback = check.ce_log_softmax(lambda z: torch.log(torch.softmax(z, dim=1)))
    assert feedback.status == "incorrect"
    assert "maximum" in feedback.message


def test_log_softmax_without_the_shift_overflows():
    feedback = check.ce_log_softmax(lambda z: z - torch.log(torch.exp(z).sum(dim=1, keepdim=True)))
    assert feedback.status == "incorrect"
    assert "overflowed" in feedback.message


def test_log_softmax_wrong_dimension():
    def over_columns(z):
        top = z.max(dim=0, keepdim=True).values
        return (z - top) - torch.log(torch.exp(z - top).sum(dim=0, keepdim=True))

    feedback = check.ce_log_softmax(over_columns)
    assert feedback.status == "incorrect"
    assert "dim=1" in feedback.message


def test_log_softmax_without_keepdim_is_invalid():
    feedback = check.ce_log_softmax(lambda z: z.max(dim=1).values)
    assert feedback.status == "invalid"
    assert "keepdim" in feedback.message


def test_log_softmax_broadcast_error_gets_the_keepdim_hint():
    def without_keepdim(z):
        top = z.max(dim=1).values
        return (z - top) - torch.log(torch.exp(z - top).sum(dim=1))

    feedback = check.ce_log_softmax(without_keepdim)
    assert feedback.status == "invalid"
    assert "keepdim=True" in feedback.message


@pytest.mark.parametrize("answer", [1.0, "log_softmax", torch.zeros(3)])
def test_log_softmax_wrong_type_is_invalid(answer):
    assert check.ce_log_softmax(answer).status == "invalid"


def test_log_softmax_korean(korean):
    assert "최댓값" in check.ce_log_softmax(lambda z: torch.log(torch.softmax(z, dim=1))).message
    assert "정답" in check.ce_log_softmax(reference_log_softmax).message


# --- ce_two_class_logits ------------------------------------------------------------------------

@pytest.mark.parametrize("answer", [reference_two_class_logits,
                                    lambda x: torch.stack([-x / 2, x / 2], dim=1),
                                    lambda x: torch.stack([torch.full_like(x, 3.0), x + 3.0], dim=1)])
def test_two_class_logits_accepts_any_shift(answer):
    assert check.ce_two_class_logits(answer).passed


def test_two_class_logits_none_is_not_attempted():
    assert check.ce_two_class_logits(None).status == "not_attempted"


def test_two_class_logits_swapped_columns():
    feedback = check.ce_two_class_logits(lambda x: torch.stack([x, torch.zeros_like(x)], dim=1))
    assert feedback.status == "incorrect"
    assert "swapped" in feedback.message


def test_two_class_logits_wrong_values():
    feedback = check.ce_two_class_logits(lambda x: torch.stack([torch.ones_like(x), x], dim=1))
    assert feedback.status == "incorrect"
    assert "difference" in feedback.message


def test_two_class_logits_scaled_difference():
    feedback = check.ce_two_class_logits(lambda x: torch.stack([-x, x], dim=1))
    assert feedback.status == "incorrect"
    assert "2·x" in feedback.message


def test_two_class_logits_stacked_the_wrong_way_is_invalid():
    feedback = check.ce_two_class_logits(lambda x: torch.stack([torch.zeros_like(x), x], dim=0))
    assert feedback.status == "invalid"
    assert "dim=1" in feedback.message


@pytest.mark.parametrize("answer", [2, "x", lambda x: [0, x], lambda x: torch.zeros(len(x), 2, dtype=torch.long)])
def test_two_class_logits_wrong_type_is_invalid(answer):
    assert check.ce_two_class_logits(answer).status == "invalid"


def test_two_class_logits_korean(korean):
    assert "뒤바뀌" in check.ce_two_class_logits(lambda x: torch.stack([x, torch.zeros_like(x)], dim=1)).message
    assert "정답" in check.ce_two_class_logits(reference_two_class_logits).message


# --- ce_pos_weight_for --------------------------------------------------------------------------

def test_pos_weight_accepts_negatives_over_positives():
    assert check.ce_pos_weight_for(reference_pos_weight).passed


def test_pos_weight_none_is_not_attempted():
    assert check.ce_pos_weight_for(None).status == "not_attempted"


def test_pos_weight_upside_down():
    feedback = check.ce_pos_weight_for(lambda t: 1 / reference_pos_weight(t))
    assert feedback.status == "incorrect"
    assert "Upside down" in feedback.message


def test_pos_weight_n_over_positives():
    feedback = check.ce_pos_weight_for(lambda t: t.shape[0] / t.sum(dim=0))
    assert feedback.status == "incorrect"
    assert "N - positives" in feedback.message


def test_pos_weight_over_the_wrong_dimension_is_invalid():
    feedback = check.ce_pos_weight_for(lambda t: (t.shape[1] - t.sum(dim=1)) / t.sum(dim=1))
    assert feedback.status == "invalid"
    assert "dim=0" in feedback.message


@pytest.mark.parametrize("answer", [3.0, [1.0, 2.0], lambda t: [1.0, 2.0, 3.0]])
def test_pos_weight_wrong_type_is_invalid(answer):
    assert check.ce_pos_weight_for(answer).status == "invalid"


def test_pos_weight_korean(korean):
    assert "뒤집혔" in check.ce_pos_weight_for(lambda t: 1 / reference_pos_weight(t)).message
    assert "정답" in check.ce_pos_weight_for(reference_pos_weight).message


def test_korean_particles_fit_the_filled_in_signature_and_values(korean):
    # "f(z)" ends in a vowel when read (에프 제트), so it takes 를 and 는; a particle is never left in both forms
    assert "함수 f(z)를 넣어야" in check.ce_log_softmax(3).message
    assert "f(z)는 텐서를" in check.ce_log_softmax(lambda z: [1.0]).message
    message = check.ce_pos_weight_for(lambda t: torch.ones(t.shape[1])).message
    assert "(가)" not in message and "pos_weight가 [" in message, message
    assert "1.0]이 나옵니다" in message, message  # 1.0 ends in 0, read 영: a final consonant takes 이
