"""The self-checks of 05_label_smoothing: right answers pass, typical mistakes get a hint, both languages."""
import math

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


def torch_target(labels, num_classes, epsilon):
    return (1 - epsilon) * F.one_hot(labels, num_classes).float() + epsilon / num_classes


def blog_target(labels, num_classes, epsilon):
    onehot = F.one_hot(labels, num_classes).float()
    return (1 - epsilon) * onehot + (1 - onehot) * epsilon / (num_classes - 1)


def optimal_margin():
    t_true, t_other = 1 - 0.1 + 0.1 / 10, 0.1 / 10
    return math.log(t_true / t_other)


EXERCISES = {
    "smoothing_torch_target": torch_target,
    "smoothing_equivalent_epsilon": 0.2 * 5 / 4,
    "smoothing_optimal_margin": optimal_margin(),
}


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_reference_solution_passes(name):
    feedback = getattr(check, name)(EXERCISES[name])
    assert feedback.passed, feedback


@pytest.mark.parametrize("name, wrong_type", [("smoothing_torch_target", "a string"),
                                              ("smoothing_equivalent_epsilon", "0.25"),
                                              ("smoothing_optimal_margin", [4.5])])
def test_wrong_type_is_invalid(name, wrong_type):
    feedback = getattr(check, name)(wrong_type)
    assert feedback.status == "invalid", feedback


def test_target_from_the_blog_convention_gets_a_hint():
    feedback = check.smoothing_torch_target(blog_target)
    assert feedback.status == "incorrect"
    assert "blog convention" in feedback.message and "ε/K" in feedback.message


def test_plain_one_hot_target_gets_a_hint():
    feedback = check.smoothing_torch_target(lambda labels, k, eps: F.one_hot(labels, k).float())
    assert feedback.status == "incorrect"
    assert "one-hot" in feedback.message and "no smoothing" in feedback.message


def test_target_that_does_not_sum_to_one_gets_a_hint():
    feedback = check.smoothing_torch_target(lambda labels, k, eps: (1 - eps) * F.one_hot(labels, k).float() + eps)
    assert feedback.status == "incorrect"
    assert "sum to" in feedback.message


def test_target_function_that_raises_is_invalid():
    feedback = check.smoothing_torch_target(lambda labels, k, eps: 1 / 0)
    assert feedback.status == "invalid"
    assert "ZeroDivisionError" in feedback.message


def test_target_accepts_a_tensor_of_another_float_dtype():
    feedback = check.smoothing_torch_target(lambda labels, k, eps: torch_target(labels, k, eps).double())
    assert feedback.passed, feedback


@pytest.mark.parametrize("answer, words", [(0.2, "ε'/K = 0.05"), (0.2 * 4 / 5, "upside down"), (0.3, "solve for ε'")])
def test_equivalent_epsilon_hints(answer, words):
    feedback = check.smoothing_equivalent_epsilon(answer)
    assert feedback.status == "incorrect"
    assert words in feedback.message


def test_equivalent_epsilon_accepts_a_tensor():
    assert check.smoothing_equivalent_epsilon(torch.tensor(0.25)).passed


@pytest.mark.parametrize("answer, words", [(math.inf, "without smoothing"), (math.log(81), "blog convention"),
                                           (math.log10(91), "natural logarithm"), (3.0, "e^m")])
def test_optimal_margin_hints(answer, words):
    feedback = check.smoothing_optimal_margin(answer)
    assert feedback.status == "incorrect"
    assert words in feedback.message


def test_optimal_margin_matches_the_minimum_of_the_loss():
    margins = torch.linspace(0, 10, 100001, dtype=torch.float64)
    logits = torch.zeros(len(margins), 10, dtype=torch.float64)
    logits[:, 0] = margins
    loss = F.cross_entropy(logits, torch.zeros(len(margins), dtype=torch.long), label_smoothing=0.1, reduction="none")
    assert check.smoothing_optimal_margin(margins[loss.argmin()].item()).passed


@pytest.mark.parametrize("name, wrong", [("smoothing_torch_target", blog_target),
                                         ("smoothing_equivalent_epsilon", 0.2),
                                         ("smoothing_optimal_margin", math.inf)])
def test_feedback_is_korean(korean, name, wrong):
    for answer in (None, wrong, EXERCISES[name]):
        message = getattr(check, name)(answer).message
        assert any("\uac00" <= ch <= "\ud7a3" for ch in message), message


def test_korean_particle_after_the_blog_target(korean):
    message = check.smoothing_equivalent_epsilon(0.25).message
    # the target ends in 0.05 (오, a vowel), so it takes 와, not 과 or the unresolved 과(와)
    assert "0.05]와 같습니다" in message, message
