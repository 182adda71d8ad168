"""Exercises of 10_mini_project: a saturated start, a threshold chosen on validation data, and the
lowest loss label smoothing allows."""
import math

import torch
import torch.nn.functional as F

from .. import metrics
from ..targets import smoothed_targets
from ._feedback import as_number, correct, exercise, incorrect, invalid, number

# The multi-class problem of 10_mini_project: K classes, torch's label_smoothing.
CLASSES = 5
SMOOTHING = 0.1


def _losses(history):
    """The per-step losses of a history dict {"loss": [...]} (or a plain list); None if it is neither."""
    values = history.get("loss") if isinstance(history, dict) else history
    if not isinstance(values, (list, tuple)) or len(values) < 2:
        return None
    numbers = [as_number(value) for value in values]
    return None if any(value is None for value in numbers) else numbers


def _gradient_at_30(loss_fn) -> float:
    logit = torch.tensor([30.0], requires_grad=True)
    loss_fn(logit, torch.tensor([0.0])).backward()
    return logit.grad.item()


@exercise
def project_saturated_start(answer):
    """(history with Sigmoid + BCELoss, history with BCEWithLogitsLoss), both from a confidently wrong start."""
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return invalid("Expected a pair (history_sigmoid_bce, history_logits), got {kind}.",
                       "(history_sigmoid_bce, history_logits) 쌍을 넣어야 합니다. 입력: {kind}", kind=type(answer).__name__)
    runs = [_losses(history) for history in answer]
    if any(run is None for run in runs):
        return invalid("Each history must be what train() returns: a dict whose 'loss' holds at least two numbers.",
                       "각 history는 train()이 돌려준 값, 즉 'loss'에 숫자가 두 개 이상 있는 딕셔너리여야 합니다.")
    sigmoid_bce, logits = runs
    bce_gradient = _gradient_at_30(lambda x, y: F.binary_cross_entropy(torch.sigmoid(x), y))
    logits_gradient = _gradient_at_30(F.binary_cross_entropy_with_logits)
    if not all(math.isfinite(value) for value in sigmoid_bce):
        return incorrect("The Sigmoid + BCELoss run has inf or NaN: that is the textbook formula. Use torch's "
                         "F.binary_cross_entropy(torch.sigmoid(z), y), which clamps the log at -100.",
                         "Sigmoid + BCELoss 실행에 inf나 NaN이 있습니다. 그것은 교과서 공식입니다. log를 -100에서 자르는 "
                         "torch의 F.binary_cross_entropy(torch.sigmoid(z), y)를 쓰세요.")
    flat = all(value == sigmoid_bce[0] for value in sigmoid_bce)
    learned = logits[-1] < logits[0]
    if not flat and all(value == logits[0] for value in logits):
        return incorrect("The first history should be Sigmoid + BCELoss, the second BCEWithLogitsLoss: swap them.",
                         "첫 번째 history가 Sigmoid + BCELoss, 두 번째가 BCEWithLogitsLoss여야 합니다. 순서를 바꾸세요.")
    if not flat:
        return incorrect("Your Sigmoid + BCELoss run learned (loss {first:.4g} -> {last:.4g}), so its start was not saturated. "
                         "Set the output bias to 30 so torch.sigmoid(model(x)) is exactly 1 for every example.",
                         "Sigmoid + BCELoss 실행이 학습되었습니다(손실 {first:.4g} -> {last:.4g}). 시작점이 포화되지 않았다는 "
                         "뜻입니다. 출력층 편향을 30으로 두어 모든 샘플에서 torch.sigmoid(model(x))가 정확히 1이 되게 하세요.",
                         first=sigmoid_bce[0], last=sigmoid_bce[-1])
    if not learned:
        return incorrect("The BCEWithLogitsLoss run did not get better (loss {first:.4g} -> {last:.4g}). Start it from the "
                         "same confidently wrong model and train with a learning rate above 0.",
                         "BCEWithLogitsLoss 실행이 나아지지 않았습니다(손실 {first:.4g} -> {last:.4g}). 같은 확신하며 틀린 "
                         "모델에서 시작해 0보다 큰 학습률로 학습하세요.", first=logits[0], last=logits[-1])
    return correct("Correct: Sigmoid + BCELoss stayed at {stuck:.4g} for {steps} steps, because at logit 30 and label 0 its "
                   "gradient is {bce} (computed now); BCEWithLogitsLoss's is {good:.4g}, and your run fell from {first:.4g} "
                   "to {last:.4g}.",
                   "정답입니다: Sigmoid + BCELoss는 {steps} 스텝 동안 {stuck:.4g}에 머물렀습니다. 로짓 30, 레이블 0에서 그 "
                   "그래디언트가 {bce}이기 때문입니다(방금 계산). BCEWithLogitsLoss의 그래디언트는 {good:.4g}이고, 여러분의 "
                   "실행은 {first:.4g}에서 {last:.4g}(으)로 내려갔습니다.",
                   stuck=sigmoid_bce[0], steps=len(sigmoid_bce), bce=bce_gradient, good=logits_gradient,
                   first=logits[0], last=logits[-1])


def _threshold_cases():
    """Validation-like (scores, labels): imbalanced, as logits and as probabilities."""
    cases = []
    for seed, rate, as_probability in ((1, 0.08, False), (2, 0.2, False), (3, 0.05, True)):
        generator = torch.Generator().manual_seed(seed)
        labels = (torch.rand(400, generator=generator) < rate).float()
        scores = torch.randn(400, generator=generator) + 2.0 * labels
        cases.append((torch.sigmoid(scores) if as_probability else scores, labels))
    return cases


@exercise
def project_threshold(answer):
    """A function (val_scores, val_labels) -> the threshold with the best F1 on that validation data."""
    if not callable(answer):
        return invalid("Expected a function, got {kind}. Write `def answer(val_scores, val_labels): ...` and pass it.",
                       "함수를 넣어야 합니다. 입력: {kind}. `def answer(val_scores, val_labels): ...`를 만들어 넣으세요.",
                       kind=type(answer).__name__)
    for scores, labels in _threshold_cases():
        threshold = as_number(answer(scores.clone(), labels.clone()))
        if threshold is None:
            return invalid("Your function should return one number, the threshold.",
                           "함수는 임계값 숫자 하나를 돌려주어야 합니다.")
        _, best = metrics.best_f1_threshold(scores, labels)
        got = metrics.f1_score(scores, labels, threshold)
        if got >= best - 1e-12:
            continue
        kind = ("probabilities", "확률") if scores.min() >= 0 else ("logits", "로짓")
        return incorrect("On validation {kind_en} with {positives} positives of {n}, threshold {threshold:.4g} gives F1 "
                         "{got:.3f}; the best threshold gives {best:.3f}. Try every validation score as a threshold "
                         "(metrics.best_f1_threshold does this).",
                         "양성이 {n}개 중 {positives}개인 검증 {kind_ko}에서 임계값 {threshold:.4g}의 F1은 {got:.3f}이고, "
                         "가장 좋은 임계값의 F1은 {best:.3f}입니다. 검증 점수 하나하나를 임계값으로 시험해 보세요"
                         "(metrics.best_f1_threshold가 그렇게 합니다).",
                         kind_en=kind[0], kind_ko=kind[1], positives=int(labels.sum()), n=len(labels),
                         threshold=threshold, got=got, best=best)
    return correct("Correct: your threshold has the best validation F1, for logits and for probabilities alike. Now apply "
                   "it to the test scores with metrics.f1_score: the test data never chose it.",
                   "정답입니다: 로짓이든 확률이든 여러분의 임계값이 검증 데이터에서 가장 좋은 F1을 냅니다. 이제 그 임계값을 "
                   "metrics.f1_score로 테스트 점수에 적용하세요. 테스트 데이터는 임계값을 고르는 데 쓰이지 않았습니다.")


def _entropy(target: torch.Tensor) -> float:
    target = target.to(torch.float64)
    return float(-(target * target.log()).sum())


@exercise
def project_smoothing_floor(answer):
    """The lowest mean loss F.cross_entropy(label_smoothing=0.1) can reach with K = 5 classes."""
    expected = _entropy(smoothed_targets(torch.tensor(0), CLASSES, SMOOTHING, dtype=torch.float64))
    feedback = number(answer, expected, rel=1e-4, what=("the lowest loss", "가장 낮은 손실"))
    if feedback is not None:
        return feedback
    value = as_number(answer)
    other = _entropy(smoothed_targets(torch.tensor(0), CLASSES, SMOOTHING, convention="uniform_others", dtype=torch.float64))
    if value <= 1e-6:
        return incorrect("With smoothing the target is not one-hot, so even a perfect model pays a loss: the softmax can at "
                         "best equal the smoothed target t, and then the loss is -Σ t log t.",
                         "스무딩을 하면 타깃이 원-핫이 아니므로 완벽한 모델도 손실을 냅니다. 소프트맥스는 기껏해야 스무딩된 타깃 t와 "
                         "같아질 수 있고, 그때 손실은 -Σ t log t입니다.")
    if math.isclose(value, other, rel_tol=1e-4):
        return incorrect("That target puts 1 - ε on the true class and ε/(K-1) elsewhere. torch uses "
                         "(1 - ε)·onehot + ε/K: try lossviz.smoothed_targets(torch.tensor(0), 5, 0.1).",
                         "그 타깃은 정답 클래스에 1 - ε, 나머지에 ε/(K-1)을 둡니다. torch는 (1 - ε)·원-핫 + ε/K를 씁니다. "
                         "lossviz.smoothed_targets(torch.tensor(0), 5, 0.1)을 써 보세요.")
    if math.isclose(value, math.log(CLASSES), rel_tol=1e-3):
        return incorrect("log 5 is the loss of a uniform guess (softmax 1/5 for every class), where training starts, not "
                         "where it can end. The floor is where the softmax equals the smoothed target t: -Σ t log t.",
                         "log 5는 모든 클래스에 확률을 똑같이 1/5씩 주는 고른 추측의 손실로, 학습이 끝나는 곳이 아니라 시작하는 곳입니다. "
                         "바닥은 소프트맥스가 스무딩된 타깃 t와 같아지는 곳이고, 그 값은 -Σ t log t입니다.")
    if value > expected:
        return incorrect("{value:.4g} is above the floor: a trained model gets close to it but not below (here the classes "
                         "also overlap, so it stays further above). Compute the floor instead: the softmax equals the "
                         "smoothed target t, so the loss is -Σ t log t.",
                         "{value:.4g}은(는) 바닥보다 높습니다. 학습된 모델은 바닥에 가까워질 뿐 그 아래로 가지 못합니다(여기서는 "
                         "클래스가 겹치기도 해서 더 위에 머뭅니다). 바닥을 계산해 보세요: 소프트맥스가 스무딩된 타깃 t와 같을 때 "
                         "손실은 -Σ t log t입니다.", value=value)
    return incorrect("Not the floor. The loss is lowest where the softmax equals the smoothed target t; it is then -Σ t log t. "
                     "lossviz.smoothed_targets(torch.tensor(0), 5, 0.1) gives t.",
                     "바닥이 아닙니다. 소프트맥스가 스무딩된 타깃 t와 같을 때 손실이 가장 낮고, 그 값은 -Σ t log t입니다. "
                     "t는 lossviz.smoothed_targets(torch.tensor(0), 5, 0.1)로 구합니다.")
