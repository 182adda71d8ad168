"""The exercise checks of 10_mini_project: reference solutions pass, typical mistakes get a hint."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import lossviz
from lossviz import check, metrics, smoothed_targets


@pytest.fixture
def korean():
    lossviz.set_language("ko")
    yield
    lossviz.set_language("en")


def train(model, loss_fn, data, steps, lr):
    """The notebook's loop, without the progress bar."""
    inputs, targets = data
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = {"loss": []}
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        history["loss"].append(loss.item())
    return history


def confident_start():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
    with torch.no_grad():
        model[-1].bias.fill_(30.0)
    return model


@pytest.fixture(scope="module")
def saturated_histories():
    generator = torch.Generator().manual_seed(20)
    labels = (torch.rand(300, 1, generator=generator) < 0.05).float()
    data = (torch.randn(300, 2, generator=generator) + 1.5 * labels, labels)
    sigmoid_bce = train(confident_start(), lambda z, y: F.binary_cross_entropy(torch.sigmoid(z), y), data, 20, 0.02)
    logits = train(confident_start(), nn.BCEWithLogitsLoss(), data, 20, 0.02)
    return sigmoid_bce, logits


def best_threshold(scores, labels):
    return metrics.best_f1_threshold(scores, labels)[0]


def smoothing_floor():
    target = smoothed_targets(torch.tensor(0), 5, 0.1, dtype=torch.float64)
    return float(-(target * target.log()).sum())


def test_saturated_start_reference_passes(saturated_histories):
    sigmoid_bce, logits = saturated_histories
    assert len(set(sigmoid_bce["loss"])) == 1, "Sigmoid + BCELoss should not move from a saturated start"
    feedback = check.project_saturated_start(saturated_histories)
    assert feedback.passed, feedback
    assert "0.0" in feedback.message  # the gradient of Sigmoid + BCELoss at logit 30, computed live


@pytest.mark.parametrize("exercise, solution", [(check.project_threshold, best_threshold),
                                                (check.project_smoothing_floor, smoothing_floor())],
                         ids=["project_threshold", "project_smoothing_floor"])
def test_reference_solution_passes(exercise, solution):
    feedback = exercise(solution)
    assert feedback.passed, feedback


EXERCISES = [check.project_saturated_start, check.project_threshold, check.project_smoothing_floor]
IDS = [exercise.__name__ for exercise in EXERCISES]


@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
def test_wrong_type_is_invalid(exercise):
    feedback = exercise("an answer")
    assert feedback.status == "invalid", feedback


def test_saturated_start_rejects_malformed_histories():
    assert check.project_saturated_start(({"loss": [1.0, 1.0]},)).status == "invalid"
    assert check.project_saturated_start(({"loss": [1.0]}, {"loss": [2.0, 1.0]})).status == "invalid"
    assert check.project_saturated_start(({"accuracy": [1.0, 1.0]}, {"loss": [2.0, 1.0]})).status == "invalid"


def test_saturated_start_wrong_answers(saturated_histories):
    sigmoid_bce, logits = saturated_histories
    swapped = check.project_saturated_start((logits, sigmoid_bce))
    assert swapped.status == "incorrect" and "swap" in swapped.message, swapped
    not_saturated = check.project_saturated_start(({"loss": [0.7, 0.5, 0.4]}, logits))
    assert not_saturated.status == "incorrect" and "bias to 30" in not_saturated.message, not_saturated
    textbook = check.project_saturated_start(({"loss": [float("inf"), float("nan")]}, logits))
    assert textbook.status == "incorrect" and "textbook formula" in textbook.message, textbook
    stuck = check.project_saturated_start((sigmoid_bce, {"loss": [28.0, 28.0, 28.0]}))
    assert stuck.status == "incorrect" and "did not get better" in stuck.message, stuck


@pytest.mark.parametrize("wrong, hint", [
    (lambda scores, labels: 0.5, "best threshold gives"),
    (lambda scores, labels: 0.0, "every validation score"),
    (lambda scores, labels: scores.max(), "F1"),
])
def test_threshold_wrong_answers(wrong, hint):
    feedback = check.project_threshold(wrong)
    assert feedback.status == "incorrect" and hint in feedback.message, feedback


def test_threshold_must_return_a_number():
    assert check.project_threshold(lambda scores, labels: "high").status == "invalid"
    assert check.project_threshold(lambda scores, labels: scores).status == "invalid"


@pytest.mark.parametrize("answer, hint", [
    (0.0, "not one-hot"),
    (smoothed_targets(torch.tensor(0), 5, 0.1, convention="uniform_others", dtype=torch.float64), None),
    (0.45, "above the floor"),
    (0.7986, "above the floor"),  # the trained model's last loss in the notebook
    (math.log(5), "uniform guess"),
    (0.2, "Not the floor"),
])
def test_smoothing_floor_wrong_answers(answer, hint):
    if hint is None:  # the entropy of the other convention's target
        answer, hint = float(-(answer * answer.log()).sum()), "ε/(K-1)"
    feedback = check.project_smoothing_floor(answer)
    assert feedback.status == "incorrect" and hint in feedback.message, feedback


def test_feedback_is_korean(korean, saturated_histories):
    assert "정답" in check.project_saturated_start(saturated_histories).message
    assert "순서를 바꾸세요" in check.project_saturated_start(saturated_histories[::-1]).message
    assert "임계값" in check.project_threshold(lambda scores, labels: 0.5).message
    assert "원-핫" in check.project_smoothing_floor(0.0).message
    assert "바닥보다 높습니다" in check.project_smoothing_floor(0.7986).message
    # the particle after a filled-in number fits how it is read: 0.7986 (육) takes 은, 0.45 (오) 는
    assert "0.7986은 바닥보다" in check.project_smoothing_floor(0.7986).message
    assert "0.45는 바닥보다" in check.project_smoothing_floor(0.45).message
    assert "소프트맥스" in check.project_smoothing_floor(0.0).message
    assert "고른 추측" in check.project_smoothing_floor(math.log(5)).message
    assert "정답" in check.project_smoothing_floor(smoothing_floor()).message
    assert "아직 풀지 않았습니다" in check.project_threshold(None).message
