"""Exercises of 11_common_mistakes: find the buggy line, write CrossEntropyLoss as LogSoftmax +
NLLLoss, and the lowest loss a model ending in Sigmoid can reach under BCEWithLogitsLoss."""
import math

import torch
import torch.nn.functional as F

from ._feedback import correct, exercise, incorrect, invalid

# The model of exercise 1, printed by the notebook with its line numbers.
BUGGY_MODEL = """\
model = nn.Sequential(
    nn.Linear(20, 64),
    nn.ReLU(),
    nn.Linear(64, 10),
    nn.Softmax(dim=1),
)
criterion = nn.CrossEntropyLoss()
loss = criterion(model(x), y)"""
_BUGGY_LINE = 5


@exercise(takes_number=True)
def mistakes_buggy_line(answer):
    """The number of the line of BUGGY_MODEL that holds the bug."""
    lines = len(BUGGY_MODEL.splitlines())
    if not math.isfinite(answer) or answer != int(answer):
        return invalid("Give a line number, a whole number from 1 to {lines}.",
                       "1부터 {lines}까지의 정수, 줄 번호를 넣으세요.", lines=lines)
    line = int(answer)
    if line == _BUGGY_LINE:
        return correct("Correct: line 5. nn.Softmax turns the logits into probabilities, and CrossEntropyLoss "
                       "applies log_softmax again: the softmax is applied twice. Delete that line.",
                       "정답입니다: 5행입니다. nn.Softmax가 로짓을 확률로 바꾸고, CrossEntropyLoss가 다시 "
                       "log_softmax를 적용합니다. 소프트맥스가 두 번 적용되므로 그 줄을 지우세요.")
    if line == 7:
        return incorrect("CrossEntropyLoss is the right loss for class indices y. The problem is what it receives: "
                         "what does model(x) return?",
                         "클래스 번호 y에는 CrossEntropyLoss가 맞는 손실입니다. 문제는 이 손실이 받는 값입니다. "
                         "model(x)는 무엇을 돌려주나요?")
    if line == 8:
        return incorrect("The call is written correctly. Look at the last layer of the model: what does "
                         "CrossEntropyLoss expect, logits or probabilities?",
                         "호출은 올바르게 작성되었습니다. 모델의 마지막 층을 보세요. CrossEntropyLoss는 로짓과 "
                         "확률 중 무엇을 기대하나요?")
    if 1 <= line <= lines:
        return incorrect("Line {line} is fine. Which layer changes logits into something CrossEntropyLoss does "
                         "not expect?",
                         "{line}행은 괜찮습니다. 어느 층이 로짓을 CrossEntropyLoss가 기대하지 않는 값으로 바꾸나요?",
                         line=line)
    return invalid("The listing has lines 1 to {lines}; {line} is not one of them.",
                   "목록에는 1행부터 {lines}행까지 있습니다. {line}은(는) 그중 하나가 아닙니다.",
                   lines=lines, line=line)


def _logits_and_targets():
    generator = torch.Generator().manual_seed(11)
    logits = torch.randn(6, 4, generator=generator) * 3
    logits[0] = torch.tensor([1000.0, 0.0, -1000.0, 5.0])  # where log(softmax(z)) gives -inf
    targets = torch.tensor([1, 0, 3, 2, 1, 0])
    return logits, targets


@exercise
def mistakes_log_softmax_nll(answer):
    """A function (logits, targets) -> mean cross-entropy, written with log_softmax and nll_loss."""
    if not callable(answer):
        return invalid("Expected a function f(logits, targets), got {kind}.",
                       "함수 f(logits, targets)를 넣어야 합니다. 입력: {kind}", kind=type(answer).__name__)
    logits, targets = _logits_and_targets()
    with torch.no_grad():
        result = answer(logits.clone(), targets.clone())
    if not isinstance(result, torch.Tensor) or result.numel() != 1:
        return invalid("f(logits, targets) must return the mean loss, one number in a tensor; got {kind}.",
                       "f(logits, targets)는 평균 손실, 곧 숫자 하나가 든 텐서를 돌려줘야 합니다. 반환값: {kind}",
                       kind=type(result).__name__ if not isinstance(result, torch.Tensor) else
                       f"shape {tuple(result.shape)}")
    value = result.detach().double().item()
    expected = F.cross_entropy(logits.double(), targets).item()
    if math.isclose(value, expected, rel_tol=1e-5):
        return correct("Correct: {value:.6g}, the same as F.cross_entropy, also for the row with logits ±1000.",
                       "정답입니다: {value:.6g}, 로짓이 ±1000인 행까지 F.cross_entropy와 같습니다.", value=value)
    if not math.isfinite(value):
        return incorrect("You return {value}: a probability rounded to 0 and its log is -inf. That is "
                         "log(softmax(z)); use F.log_softmax(z, dim=1), which never forms the probability.",
                         "{value}이(가) 나옵니다. 확률이 0으로 반올림되어 로그가 -inf가 되었습니다. log(softmax(z))를 "
                         "쓴 것입니다. 확률을 만들지 않는 F.log_softmax(z, dim=1)를 쓰세요.", value=value)
    probabilities = torch.softmax(logits.double(), 1)
    if math.isclose(value, F.nll_loss(probabilities, targets).item(), rel_tol=1e-5):
        return incorrect("You return {value:.4g}, a negative loss: nll_loss got probabilities, so it averaged "
                         "-p[target]. Give it log-probabilities: F.log_softmax(logits, dim=1).",
                         "{value:.4g}, 음수 손실이 나옵니다. nll_loss가 확률을 받아서 -p[target]을 평균 냈습니다. "
                         "로그 확률 F.log_softmax(logits, dim=1)를 넘기세요.", value=value)
    if math.isclose(value, F.nll_loss(torch.log_softmax(logits.double(), 0), targets).item(), rel_tol=1e-5):
        return incorrect("log_softmax ran over dim=0, the batch. The classes are dim=1.",
                         "log_softmax를 dim=0, 즉 배치 방향으로 계산했습니다. 클래스는 dim=1입니다.")
    return incorrect("You return {value:.6g}, but F.cross_entropy gives {expected:.6g}. Compute "
                     "F.nll_loss(F.log_softmax(logits, dim=1), targets).",
                     "{value:.6g}이(가) 나오지만 F.cross_entropy는 {expected:.6g}입니다. "
                     "F.nll_loss(F.log_softmax(logits, dim=1), targets)를 계산해 보세요.",
                     value=value, expected=expected)


@exercise(takes_number=True)
def mistakes_sigmoid_floor(answer):
    """The lowest BCEWithLogitsLoss, for label 1, of a model whose last layer is nn.Sigmoid()."""
    expected = math.log1p(math.exp(-1.0))  # the input cannot pass 1: log(1 + e^-1)
    if math.isnan(answer):
        return invalid("nan is not a loss: give a number.", "nan은 손실이 아닙니다. 숫자를 넣으세요.")
    if math.isclose(answer, expected, rel_tol=1e-3):
        return correct("Correct: log(1 + e^-1) = {expected:.4f}. The input stays below 1, so the loss never "
                       "gets below this, however long the model trains.",
                       "정답입니다: log(1 + e^-1) = {expected:.4f}. 입력이 1을 넘지 못하므로, 아무리 오래 학습해도 "
                       "손실은 이 값 아래로 내려가지 않습니다.", expected=expected)
    if answer == 0:
        return incorrect("0 is the floor for real logits, which can grow without bound. Here the input comes out "
                         "of a Sigmoid: what is the largest value it can take?",
                         "0은 끝없이 커질 수 있는 진짜 로짓의 하한입니다. 여기서는 입력이 Sigmoid를 거쳐 나옵니다. "
                         "입력이 가질 수 있는 가장 큰 값은 얼마인가요?")
    if math.isclose(answer, math.log(2), rel_tol=1e-3):
        return incorrect("log 2 is the floor for label 0 (the input cannot go below 0). For label 1 the input "
                         "wants to be large: how large can it get?",
                         "log 2는 레이블 0의 하한입니다(입력이 0 아래로 못 내려갑니다). 레이블 1이면 입력이 커야 "
                         "합니다. 얼마나 커질 수 있나요?")
    sigmoid_of_1 = 1 / (1 + math.exp(-1.0))
    if any(math.isclose(answer, p, rel_tol=1e-3) for p in (sigmoid_of_1, 1 - sigmoid_of_1)):
        return incorrect("That is a probability, not a loss. The loss is -log sigmoid(input) at the largest input.",
                         "그것은 손실이 아니라 확률입니다. 손실은 가장 큰 입력에서의 -log sigmoid(입력)입니다.")
    return incorrect("Not quite: the loss for label 1 is log(1 + e^(-input)), and the input lies in (0, 1). "
                     "Where is it smallest?",
                     "아닙니다. 레이블 1의 손실은 log(1 + e^(-입력))이고, 입력은 (0, 1) 안에 있습니다. "
                     "어디에서 가장 작을까요?")
