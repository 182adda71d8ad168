"""The self-checks of 06_imbalance_weights: right answers pass, typical mistakes get a hint, both languages."""
import pytest
import torch

import lossviz
from lossviz import check


@pytest.fixture
def korean():
    lossviz.set_language("ko")
    yield
    lossviz.set_language("en")


def grad(x, y, pos_weight):
    return (pos_weight * y + 1 - y) * torch.sigmoid(x) - pos_weight * y


def undo(p, pos_weight):
    return p / (p + pos_weight * (1 - p))


def sampler_weights(labels):
    return (1.0 / torch.bincount(labels))[labels]


EXERCISES = {
    "imbalance_pos_weight_grad": grad,
    "imbalance_undo_pos_weight": undo,
    "imbalance_sampler_weights": sampler_weights,
}


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_reference_solution_passes(name):
    feedback = getattr(check, name)(EXERCISES[name])
    assert feedback.passed, feedback


@pytest.mark.parametrize("name, wrong_type", [("imbalance_pos_weight_grad", 3.0),
                                              ("imbalance_undo_pos_weight", 0.5),
                                              ("imbalance_sampler_weights", [1.0, 2.0])])
def test_wrong_type_is_invalid(name, wrong_type):
    feedback = getattr(check, name)(wrong_type)
    assert feedback.status == "invalid", feedback


@pytest.mark.parametrize("wrong, words", [
    (lambda x, y, pw: torch.sigmoid(x) - y, "without pos_weight"),
    (lambda x, y, pw: pw * (torch.sigmoid(x) - y), "scaled every element"),
    (lambda x, y, pw: torch.where(y == 1, pw * (torch.sigmoid(x) - 1), torch.sigmoid(x)), "soft labels"),
    (lambda x, y, pw: torch.sigmoid(x), "Compare with autograd"),
    (lambda x, y, pw: torch.zeros(3), "shape"),
])
def test_pos_weight_grad_hints(wrong, words):
    feedback = check.imbalance_pos_weight_grad(wrong)
    assert feedback.status == "incorrect", feedback
    assert words in feedback.message


def test_pos_weight_grad_hint_shows_the_labels_plainly():
    feedback = check.imbalance_pos_weight_grad(lambda x, y, pw: torch.sigmoid(x))
    assert "y = [1, 0, 1, 0, …]" in feedback.message, feedback


def test_pos_weight_grad_function_that_raises_is_invalid():
    feedback = check.imbalance_pos_weight_grad(lambda x, y, pw: x.undefined_method())
    assert feedback.status == "invalid"
    assert "AttributeError" in feedback.message


@pytest.mark.parametrize("wrong, words", [
    (lambda p, pw: p / pw, "odds p / (1 − p)"),
    (lambda p, pw: pw * p / (pw * p + 1 - p), "wrong way"),
    (lambda p, pw: torch.sigmoid(torch.logit(p) - pw), "ln(pos_weight)"),
    (lambda p, pw: p, "Hint: odds"),
])
def test_undo_pos_weight_hints(wrong, words):
    feedback = check.imbalance_undo_pos_weight(wrong)
    assert feedback.status == "incorrect", feedback
    assert words in feedback.message


def test_undo_pos_weight_logit_form_passes_and_inverts_training():
    assert check.imbalance_undo_pos_weight(lambda p, pw: torch.sigmoid(torch.logit(p) - torch.log(torch.tensor(pw)))).passed
    # the optimum of the weighted loss for a fraction q of positives, undone, gives q back
    q = torch.tensor([0.03, 0.3], dtype=torch.float64)
    p = torch.linspace(1e-4, 1 - 1e-4, 200001, dtype=torch.float64)[:, None]
    loss = -(5.0 * q * torch.log(p) + (1 - q) * torch.log1p(-p))
    weighted_optimum = p[loss.argmin(0), 0]
    assert torch.allclose(undo(weighted_optimum, 5.0), q, atol=1e-3)


@pytest.mark.parametrize("wrong, words", [
    (lambda labels: 1.0 / torch.bincount(labels), "one weight per class"),
    (lambda labels: torch.ones(len(labels)), "as often as it occurs"),
    (lambda labels: torch.bincount(labels)[labels].double(), "probabilities"),
    (lambda labels: -torch.ones(len(labels)), "non-negative"),
    (lambda labels: torch.ones(len(labels) + 1), "one weight per sample"),
    (lambda labels: torch.ones(len(labels), 2), "1-D"),
])
def test_sampler_weights_hints(wrong, words):
    feedback = check.imbalance_sampler_weights(wrong)
    assert feedback.status == "incorrect", feedback
    assert words in feedback.message


def test_sampler_weights_any_scale_and_a_list_pass():
    assert check.imbalance_sampler_weights(lambda labels: 7 * sampler_weights(labels)).passed
    assert check.imbalance_sampler_weights(lambda labels: sampler_weights(labels).tolist()).passed


def test_sampler_weights_really_balance_a_sampler():
    labels = torch.tensor([0] * 90 + [1] * 9 + [2])
    sampler = torch.utils.data.WeightedRandomSampler(sampler_weights(labels), 30000, generator=torch.Generator().manual_seed(0))
    share = torch.bincount(labels[list(sampler)], minlength=3) / 30000
    assert torch.allclose(share, torch.full((3,), 1 / 3), atol=0.02)


@pytest.mark.parametrize("name, wrong", [("imbalance_pos_weight_grad", lambda x, y, pw: torch.sigmoid(x) - y),
                                         ("imbalance_undo_pos_weight", lambda p, pw: p / pw),
                                         ("imbalance_sampler_weights", lambda labels: 1.0 / torch.bincount(labels))])
def test_feedback_is_korean(korean, name, wrong):
    for answer in (None, wrong, EXERCISES[name]):
        message = getattr(check, name)(answer).message
        assert any("\uac00" <= ch <= "\ud7a3" for ch in message), message
