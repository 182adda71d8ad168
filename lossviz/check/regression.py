"""Exercises of 09_regression: the MSE gradient, the Huber gradient, and L1's best constant."""
import torch
import torch.nn.functional as F

from ._feedback import as_number, correct, exercise, incorrect, invalid, tensor_close


def _cases():
    """A few (prediction, target) pairs of different shapes, seeded, in float64."""
    generator = torch.Generator().manual_seed(9)
    return [(torch.randn(shape, generator=generator, dtype=torch.float64) * 3,
             torch.randn(shape, generator=generator, dtype=torch.float64) * 3) for shape in ((5,), (3, 4), (2, 3, 2))]


def _autograd(loss_fn, prediction, target):
    prediction = prediction.clone().requires_grad_()
    loss_fn(prediction, target).sum().backward()
    return prediction.grad


def _not_callable(answer):
    return invalid("Expected a function, got {kind}. Write `def answer(...): ...` and pass the function itself.",
                   "함수를 넣어야 합니다. 입력: {kind}. `def answer(...): ...`로 함수를 만들고 함수 자체를 넣으세요.",
                   kind=type(answer).__name__)


@exercise
def regression_mse_gradient(answer):
    """A function (prediction, target) -> dL/dprediction for F.mse_loss with reduction='mean'."""
    if not callable(answer):
        return _not_callable(answer)
    for prediction, target in _cases():
        expected = _autograd(F.mse_loss, prediction, target)
        got = answer(prediction.clone(), target.clone())
        problem = tensor_close(got, expected)
        if problem is None:
            continue
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
            return incorrect("For a prediction of shape {shape}: {problem}. Return one number per element.",
                             "모양이 {shape}인 예측에서: {problem}. 원소마다 숫자 하나를 돌려주세요.",
                             shape=tuple(prediction.shape), problem=problem)
        got = got.detach().to(expected.dtype)
        residual = prediction - target
        hints = [
            (2 * residual, "That is the gradient of the sum. reduction='mean' divides by N, the number of elements.",
             "그것은 합의 그래디언트입니다. reduction='mean'은 원소 개수 N으로 나눕니다."),
            (residual / residual.numel(), "The derivative of r² is 2r: the factor 2 is missing.",
             "r²의 미분은 2r입니다. 2가 빠졌습니다."),
            (-expected, "The sign is flipped: differentiate with respect to the prediction, (ŷ − y), not (y − ŷ).",
             "부호가 반대입니다. 타깃이 아니라 예측으로 미분하므로 (y − ŷ)가 아니라 (ŷ − y)입니다."),
            (2 * residual / residual.shape[0], "N counts every element (prediction.numel()), not only the first dimension.",
             "N은 첫 번째 차원만이 아니라 모든 원소의 개수(prediction.numel())입니다."),
        ]
        for wrong, en, ko in hints:
            if wrong.shape == got.shape and torch.allclose(got, wrong, rtol=1e-5, atol=1e-9):
                return incorrect(en, ko)
        return incorrect("For a prediction of shape {shape}: {problem}. Compare with autograd: call "
                         "F.mse_loss(pred, target).backward() on a pred with requires_grad=True and read pred.grad.",
                         "모양이 {shape}인 예측에서: {problem}. 자동 미분과 비교해 보세요. requires_grad=True인 pred로 "
                         "F.mse_loss(pred, target).backward()를 실행하고 pred.grad를 읽으면 됩니다.",
                         shape=tuple(prediction.shape), problem=problem)
    return correct("Correct: dL/dŷ = 2/N · (ŷ − y), the same as autograd for every shape tried.",
                   "정답입니다: dL/dŷ = 2/N · (ŷ − y). 시험한 모든 모양에서 자동 미분과 같습니다.")


@exercise
def regression_huber_gradient(answer):
    """A function (residual, delta) -> d/dŷ of F.huber_loss(ŷ, y, delta=delta, reduction='none'), residual = ŷ - y."""
    if not callable(answer):
        return _not_callable(answer)
    residual = torch.linspace(-6, 6, 49, dtype=torch.float64)
    for delta in (0.5, 1.0, 2.5):
        expected = _autograd(lambda p, t: F.huber_loss(p, t, delta=delta, reduction="none"), residual, torch.zeros_like(residual))
        got = answer(residual.clone(), delta)
        problem = tensor_close(got, expected)
        if problem is None:
            continue
        if isinstance(got, torch.Tensor) and got.shape == expected.shape:
            got = got.detach().to(expected.dtype)
            smooth_l1 = _autograd(lambda p, t: F.smooth_l1_loss(p, t, beta=delta, reduction="none"), residual,
                                  torch.zeros_like(residual))
            if torch.allclose(got, smooth_l1, atol=1e-9):
                return incorrect("With delta = {delta}, that is the gradient of smooth_l1_loss(beta=delta), bounded by 1. "
                                 "Huber's is delta times it: bounded by delta.",
                                 "delta = {delta}일 때 그것은 smooth_l1_loss(beta=delta)의 그래디언트로, 1을 넘지 않습니다. "
                                 "후버 손실의 그래디언트는 그 delta배이므로 delta를 넘지 않습니다.", delta=delta)
            if torch.allclose(got, residual, atol=1e-9) or torch.allclose(got, 2 * residual, atol=1e-9):
                return incorrect("That grows without bound, like MSE. Beyond |r| = delta, Huber's gradient stays at ±delta.",
                                 "그것은 MSE처럼 끝없이 커집니다. |r| = delta를 넘으면 후버 손실의 그래디언트는 ±delta에 머뭅니다.")
            if delta != 1.0 and torch.allclose(got, residual.clamp(-1, 1), atol=1e-9):
                return incorrect("With delta = {delta} you clip at ±1. Huber's gradient is r inside |r| <= delta and ±delta "
                                 "outside: use delta, not 1.",
                                 "delta = {delta}인데 ±1에서 잘랐습니다. 후버 손실의 그래디언트는 |r| <= delta 안쪽에서 r, 바깥에서 "
                                 "±delta입니다. 1이 아니라 delta를 쓰세요.", delta=delta)
            if torch.allclose(got, torch.sign(residual), atol=1e-9):
                return incorrect("That is L1's gradient. Inside |r| < delta Huber is quadratic, so its gradient is r there.",
                                 "그것은 L1의 그래디언트입니다. |r| < delta 안쪽에서 후버 손실은 2차식이므로 그래디언트가 r입니다.")
        return incorrect("With delta = {delta}: {problem}. Plot F.huber_loss's autograd gradient against the residual and "
                         "compare.", "delta = {delta}일 때: {problem}. 자동 미분으로 구한 F.huber_loss의 그래디언트를 잔차에 "
                         "대해 그려 보고 비교해 보세요.", delta=delta, problem=problem)
    return correct("Correct: r inside |r| <= delta, ±delta outside: an outlier pushes no harder than delta.",
                   "정답입니다: |r| <= delta 안쪽은 r, 바깥은 ±delta입니다. 이상치도 delta보다 세게 밀지 못합니다.")


def _l1(values: torch.Tensor, constant: float) -> float:
    return float((values - constant).abs().mean())


@exercise
def regression_l1_constant(answer):
    """A function y -> the constant c that minimises mean(|y - c|)."""
    if not callable(answer):
        return _not_callable(answer)
    generator = torch.Generator().manual_seed(5)
    cases = [torch.tensor([1.0, 2.0, 3.0, 4.0, 100.0], dtype=torch.float64),
             torch.randn(8, generator=generator, dtype=torch.float64),
             torch.cat([torch.randn(10, generator=generator, dtype=torch.float64), torch.tensor([50.0, 60.0], dtype=torch.float64)])]
    for values in cases:
        value = as_number(answer(values.clone()))
        if value is None:
            return invalid("Your function should return one number (a float or a one-element tensor).",
                           "함수는 숫자 하나(float 또는 원소가 하나인 텐서)를 돌려주어야 합니다.")
        best = _l1(values, float(torch.median(values)))
        if _l1(values, value) <= best * (1 + 1e-9) + 1e-12:
            continue
        mean = float(values.mean())
        if abs(value - mean) <= 1e-6 * max(1.0, abs(mean)):
            return incorrect("That is the mean, the best constant for MSE. For y = {values}, the mean {mean:.4g} gives L1 = "
                             "{got:.4g}; a better constant gives {best:.4g}. Which value has as many points above as below?",
                             "그것은 평균으로, MSE에서 가장 좋은 상수입니다. y = {values}에서 평균 {mean:.4g}의 L1은 {got:.4g}이고, "
                             "더 좋은 상수는 {best:.4g}을(를) 냅니다. 위아래로 같은 개수의 점을 두는 값은 무엇일까요?",
                             values=[round(v, 3) for v in values.tolist()][:6], mean=mean, got=_l1(values, value), best=best)
        return incorrect("For y = {values}, c = {value:.4g} gives L1 = {got:.4g}, but {best:.4g} is possible. "
                         "Hint: the L1 gradient of each point is ±1, so the best c has as many points above it as below.",
                         "y = {values}에서 c = {value:.4g}의 L1은 {got:.4g}이지만 {best:.4g}까지 낮출 수 있습니다. "
                         "힌트: 점마다 L1 그래디언트가 ±1이므로, 가장 좋은 c는 위아래에 같은 개수의 점을 둡니다.",
                         values=[round(v, 3) for v in values.tolist()][:6], value=value, got=_l1(values, value), best=best)
    outlier = cases[0]
    return correct("Correct: the median. For y = {values} it is {median:g}, while the mean is {mean:g}: "
                   "one outlier moves the mean, not the median.",
                   "정답입니다: 중앙값입니다. y = {values}에서 중앙값은 {median:g}, 평균은 {mean:g}입니다. "
                   "이상치 하나가 평균은 움직이지만 중앙값은 움직이지 못합니다.",
                   values=outlier.tolist(), median=float(torch.median(outlier)), mean=float(outlier.mean()))
