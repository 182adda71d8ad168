"""Exercises of 02_where_sigmoid_bce_breaks: torch's clamps, the textbook formula's inf/NaN map,
and where bfloat16 saturates."""
import math

import torch
import torch.nn.functional as F

from .. import naive, numerics
from ._feedback import as_number, correct, exercise, incorrect, invalid, number


def _sigmoid_bce_gradient(x: float, label: float, dtype=torch.float32) -> float:
    logit = torch.tensor([x], dtype=dtype, requires_grad=True)
    F.binary_cross_entropy(torch.sigmoid(logit), torch.tensor([label], dtype=dtype)).backward()
    return logit.grad.item()


@exercise
def breaks_clamped_gradient(answer):
    """dL/dx that torch's Sigmoid + BCELoss reports for x = -40, y = 1 (float32)."""
    reported = _sigmoid_bce_gradient(-40.0, 1.0)
    exact = numerics.exact_bce_with_logits_grad(torch.tensor([-40.0]), torch.tensor([1.0])).item()
    feedback = number(answer, reported, rel=1e-3, what=("torch's gradient at x = -40", "x = -40에서 torch의 그래디언트"))
    if feedback is not None:
        return feedback
    value = as_number(answer)
    if math.isclose(value, exact, rel_tol=1e-3):
        return incorrect("{exact:.4g} is the exact gradient, but torch's backward divides by 1e-12 here, "
                         "not by p(1 - p). Run it and look.",
                         "그 값({exact:.4g})은 정확한 그래디언트입니다. 하지만 여기서 torch의 역전파는 p(1 - p)가 아니라 "
                         "1e-12로 나눕니다. 직접 실행해 보세요.", exact=exact)
    if value == 0:
        return incorrect("Not 0: at x = -40 float32 sigmoid is tiny but not 0 (it is 0 only from x = -88.72). "
                         "The gradient is small, not zero.",
                         "0이 아닙니다. x = -40에서 float32 시그모이드는 아주 작지만 0은 아닙니다(0이 되는 것은 "
                         "x = -88.72부터). 그래디언트는 작을 뿐 0이 아닙니다.")
    unclamped = math.exp(-40.0)
    if math.isclose(abs(value), unclamped, rel_tol=1e-2):
        return incorrect("{value:.4g} is about e^x = p(1 - p), the number the backward should divide by. It divides by "
                         "max(p(1 - p), 1e-12) = 1e-12 instead: what does that give?",
                         "{value:.4g}은(는) 역전파가 나눠야 할 값인 e^x = p(1 - p)쯤입니다. 실제로는 max(p(1 - p), 1e-12) = "
                         "1e-12로 나눕니다. 그러면 얼마가 될까요?", value=value)
    if math.isclose(value, -reported, rel_tol=1e-3):
        return incorrect("Right size, wrong sign: for y = 1 the loss falls as x grows, so dL/dx < 0.",
                         "크기는 맞지만 부호가 틀렸습니다. y = 1이면 x가 커질수록 손실이 줄어들므로 dL/dx < 0입니다.")
    return incorrect("Not what torch reports. Hint: the backward returns -p(1 - p) / max(p(1 - p), 1e-12), "
                     "and p(1 - p) is about e^x here; or just run the pair for x = -40, y = 1.",
                     "torch가 보고하는 값이 아닙니다. 힌트: 역전파는 -p(1 - p) / max(p(1 - p), 1e-12)를 돌려주고, "
                     "여기서 p(1 - p)는 약 e^x입니다. 아니면 x = -40, y = 1로 직접 실행해 보세요.")


def _mask_grid() -> torch.Tensor:
    upper, lower = numerics.sigmoid_saturation(torch.float32)
    edges = [upper, numerics.next_toward(upper, 0.0), lower, numerics.next_toward(lower, 0.0)]
    return torch.cat([torch.linspace(-120.0, 60.0, 1801), torch.tensor(edges)]).sort().values


@exercise
def breaks_textbook_mask(answer):
    """A function x -> boolean tensor: True where the float32 textbook formula gives inf or NaN."""
    if not callable(answer):
        return invalid("Expected a function of x (a float32 tensor), got {kind}.",
                       "x(float32 텐서)를 받는 함수를 넣어야 합니다. 입력: {kind}", kind=type(answer).__name__)
    x = _mask_grid()
    expected = torch.zeros_like(x, dtype=torch.bool)
    for label in (0.0, 1.0):
        loss = naive.binary_cross_entropy_with_logits(x, torch.full_like(x, label), reduction="none")
        expected |= ~torch.isfinite(loss)
    got = answer(x.clone())
    if not isinstance(got, torch.Tensor) or got.shape != x.shape:
        shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
        return invalid("Your function should return a boolean tensor shaped like x {expected}, got {got}.",
                       "함수는 x와 모양이 같은 {expected} 불리언(boolean) 텐서를 돌려주어야 합니다. 결과: {got}",
                       expected=tuple(x.shape), got=shape)
    got = got.to(torch.bool)
    wrong = got != expected
    if not bool(wrong.any()):
        upper, lower = numerics.sigmoid_saturation(torch.float32)
        return correct("Correct: the textbook formula breaks exactly where sigmoid saturates, "
                       "x >= {upper:.8g} or x <= {lower:.8g}.",
                       "정답입니다: 교과서 공식은 시그모이드가 포화되는 바로 그곳, x >= {upper:.8g} 또는 "
                       "x <= {lower:.8g}에서 깨집니다.", upper=upper, lower=lower)
    first = int(wrong.nonzero()[0].item())
    where, should = x[first].item(), bool(expected[first])
    if int(wrong.sum()) <= 2:
        if should:
            return incorrect("Almost: only the boundary point itself is wrong (x = {where!r} should be True). "
                             "Does your comparison include the saturation point (>= rather than >)?",
                             "거의 맞았습니다. 경계점 하나만 틀렸습니다(x = {where!r}에서 True여야 합니다). "
                             "비교에 포화 지점 자체가 들어가나요(>가 아니라 >=)?", where=where)
        return incorrect("Almost: x = {where!r}, just inside the boundary, should be False: the formula "
                         "is still finite there. Compare with upper and lower themselves, not with rounded numbers.",
                         "거의 맞았습니다. 경계 바로 안쪽인 x = {where!r}에서는 False여야 합니다. 거기서는 공식이 "
                         "아직 유한합니다. 반올림한 숫자가 아니라 upper와 lower 자체와 비교하세요.", where=where)
    return incorrect("At x = {where!r} the formula gives {state}, but your function says {said}. "
                     "Hint: upper, lower = numerics.sigmoid_saturation(torch.float32); both sides break.",
                     "x = {where!r}에서 공식은 {state_ko} 값을 내는데 함수는 {said}라고 합니다. "
                     "힌트: upper, lower = numerics.sigmoid_saturation(torch.float32). 양쪽 모두 깨집니다.",
                     where=where, said=not should, state="inf or NaN" if should else "a finite",
                     state_ko="inf나 NaN" if should else "유한한")


@exercise(takes_number=True)
def breaks_bfloat16_clamp(answer):
    """The smallest bfloat16 x > 0 where torch's Sigmoid + BCELoss reports 100 for y = 0."""
    def reports_100(x):
        return F.binary_cross_entropy(torch.sigmoid(x), torch.zeros_like(x)).item() == 100.0

    expected = numerics.find_boundary(reports_100, 0.0, 100.0, torch.bfloat16)
    value = answer  # a float: @exercise(takes_number=True) converted or refused it
    if math.isnan(value):
        return invalid("nan is not a logit: give a number such as 5.0.", "nan은 로짓이 아닙니다. 5.0 같은 숫자를 넣으세요.")
    rounded = torch.tensor(value, dtype=torch.bfloat16).item()
    if rounded == expected:
        return correct("Correct: in bfloat16, torch's BCELoss reports 100 from x = {expected!r} on, "
                       "because sigmoid rounds to 1 there.",
                       "정답입니다: bfloat16에서는 x = {expected!r}부터 torch의 BCELoss가 100을 보고합니다. "
                       "거기서 시그모이드가 1로 반올림되기 때문입니다.", expected=expected)
    float32_upper, _ = numerics.sigmoid_saturation(torch.float32)
    float16_upper, _ = numerics.sigmoid_saturation(torch.float16)
    if math.isclose(value, float16_upper, rel_tol=1e-3):
        return incorrect("That is float16's point. bfloat16 has the same 8 exponent bits as float32 but only 8 "
                         "significant bits, fewer than float16's 11: search again with dtype=torch.bfloat16.",
                         "그것은 float16의 지점입니다. bfloat16은 지수 비트는 float32와 같은 8개지만 유효 비트는 8개로 "
                         "float16의 11개보다 적습니다. dtype=torch.bfloat16으로 다시 찾아 보세요.")
    if math.isclose(value, float32_upper, rel_tol=1e-3):
        return incorrect("That is float32's point. bfloat16 keeps only 8 significant bits, so sigmoid reaches 1 "
                         "much earlier. Search again with dtype=torch.bfloat16.",
                         "그것은 float32의 지점입니다. bfloat16은 유효 비트가 8개뿐이라 시그모이드가 훨씬 일찍 1에 "
                         "도달합니다. dtype=torch.bfloat16으로 다시 찾아 보세요.")
    if value > 0 and reports_100(torch.tensor([rounded], dtype=torch.bfloat16)):
        return incorrect("At x = {value!r} (in bfloat16) the loss is already 100, but a smaller x gives 100 too. Go lower.",
                         "x = {value!r}(bfloat16)에서 손실은 이미 100이지만, 더 작은 x에서도 100입니다. 더 낮춰 보세요.",
                         value=rounded)
    return incorrect("At x = {value!r} (in bfloat16) the loss is not 100 yet. Go higher, or use "
                     "numerics.find_boundary(..., dtype=torch.bfloat16).",
                     "x = {value!r}(bfloat16)에서 손실은 아직 100이 아닙니다. 더 높여 보거나 "
                     "numerics.find_boundary(..., dtype=torch.bfloat16)를 쓰세요.", value=rounded)
