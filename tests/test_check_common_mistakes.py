"""The exercise checks of 11_common_mistakes: right answers pass, typical mistakes get a useful hint."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import lossviz
from lossviz import check, lint
from lossviz.check.common_mistakes import BUGGY_MODEL


@pytest.fixture
def korean():
    lossviz.set_language("ko")
    yield
    lossviz.set_language("en")


# --- mistakes_buggy_line -----------------------------------------------------------------------

def test_buggy_line_holds_the_softmax_that_lint_follows_into_the_loss():
    (finding,) = lint.lint_source(BUGGY_MODEL)
    assert finding.code == "double-softmax" and finding.line == 8  # where the softmax reaches the loss
    (softmax_line,) = [n for n, line in enumerate(BUGGY_MODEL.splitlines(), 1) if "nn.Softmax" in line]
    assert check.mistakes_buggy_line(softmax_line).passed


def test_buggy_line_runs_and_is_a_double_softmax():
    x, y = torch.randn(4, 20), torch.tensor([0, 1, 2, 3])
    with lossviz.diagnose(warn=False, max_overhead=None) as report:
        exec(BUGGY_MODEL, {"nn": nn, "x": x, "y": y})
    assert report.codes == ["double-softmax"]


@pytest.mark.parametrize("answer, hint", [(7, "right loss"), (8, "last layer"), (2, "Line 2 is fine")])
def test_buggy_line_hints(answer, hint):
    feedback = check.mistakes_buggy_line(answer)
    assert feedback.status == "incorrect" and hint in feedback.message


@pytest.mark.parametrize("answer", [0, 9, -1, 4.5, math.inf, math.nan, "5", [5]])
def test_buggy_line_odd_answers_are_invalid(answer):
    assert check.mistakes_buggy_line(answer).status == "invalid"


def test_buggy_line_accepts_a_tensor_and_a_float():
    assert check.mistakes_buggy_line(torch.tensor(5)).passed and check.mistakes_buggy_line(5.0).passed


def test_buggy_line_korean(korean):
    assert "정답" in check.mistakes_buggy_line(5).message
    assert "괜찮습니다" in check.mistakes_buggy_line(2).message


# --- mistakes_log_softmax_nll ------------------------------------------------------------------

def test_log_softmax_nll_reference_passes():
    assert check.mistakes_log_softmax_nll(lambda z, t: F.nll_loss(F.log_softmax(z, dim=1), t)).passed
    assert check.mistakes_log_softmax_nll(lambda z, t: nn.NLLLoss()(nn.LogSoftmax(dim=1)(z), t)).passed


def test_log_softmax_nll_log_of_softmax_gets_the_log_softmax_hint():
    feedback = check.mistakes_log_softmax_nll(lambda z, t: F.nll_loss(torch.log(torch.softmax(z, 1)), t))
    assert feedback.status == "incorrect" and "log_softmax" in feedback.message and "-inf" in feedback.message


def test_log_softmax_nll_on_probabilities_gets_the_negative_loss_hint():
    feedback = check.mistakes_log_softmax_nll(lambda z, t: F.nll_loss(torch.softmax(z, 1), t))
    assert feedback.status == "incorrect" and "negative loss" in feedback.message


def test_log_softmax_nll_wrong_dimension():
    feedback = check.mistakes_log_softmax_nll(lambda z, t: F.nll_loss(F.log_softmax(z, dim=0), t))
    assert feedback.status == "incorrect" and "dim=0" in feedback.message


def test_log_softmax_nll_other_mistake_names_the_expected_value():
    feedback = check.mistakes_log_softmax_nll(lambda z, t: F.nll_loss(F.log_softmax(z, dim=1), t, reduction="sum"))
    assert feedback.status == "incorrect" and "F.cross_entropy gives" in feedback.message


@pytest.mark.parametrize("answer", [3.0, lambda z, t: 1.0, lambda z, t: F.log_softmax(z, 1)])
def test_log_softmax_nll_invalid(answer):
    assert check.mistakes_log_softmax_nll(answer).status == "invalid"


def test_log_softmax_nll_korean(korean):
    feedback = check.mistakes_log_softmax_nll(lambda z, t: F.nll_loss(torch.softmax(z, 1), t))
    assert "음수 손실" in feedback.message


# --- mistakes_sigmoid_floor --------------------------------------------------------------------

def floor_by_search():
    """Independently: the smallest loss over inputs in [0, 1] (what a Sigmoid can output), label 1."""
    inputs = torch.linspace(0, 1, 100_001, dtype=torch.float64)
    return F.binary_cross_entropy_with_logits(inputs, torch.ones_like(inputs), reduction="none").min().item()


def test_sigmoid_floor_reference_passes():
    assert check.mistakes_sigmoid_floor(floor_by_search()).passed
    assert check.mistakes_sigmoid_floor(torch.tensor(floor_by_search())).passed


@pytest.mark.parametrize("answer, hint", [(0.0, "real logits"), (math.log(2), "label 0"),
                                          (0.7311, "probability"), (0.5, "Not quite")])
def test_sigmoid_floor_hints(answer, hint):
    feedback = check.mistakes_sigmoid_floor(answer)
    assert feedback.status == "incorrect" and hint in feedback.message


@pytest.mark.parametrize("answer", [math.nan, "0.31", None])
def test_sigmoid_floor_invalid_or_not_attempted(answer):
    assert check.mistakes_sigmoid_floor(answer).status in ("invalid", "not_attempted")


def test_sigmoid_floor_korean(korean):
    assert "정답" in check.mistakes_sigmoid_floor(floor_by_search()).message
