"""Exercises of 03_logits_form: the logits form, its gradient, and where log(1 + e) gives up."""
import math

import torch
import torch.nn.functional as F

from .. import numerics
from ._feedback import correct, exercise, incorrect, invalid

# Inputs where the textbook formula, a missing log1p or a missing max(x, 0) each go wrong.
_LOGITS = [-100.0, -30.0, -20.0, -5.0, -1.0, 0.0, 1.0, 5.0, 20.0, 30.0, 100.0]
_LABELS = [0.0, 1.0, 0.25]


def _grid():
    x = torch.tensor(_LOGITS).repeat(len(_LABELS))
    y = torch.tensor(_LABELS).repeat_interleave(len(_LOGITS))
    return x, y


def _call(function, x, y):
    """The student's function on (x, y), as a float32 tensor of x's shape, or an invalid Feedback."""
    if not callable(function):
        return invalid("Expected a function f(x, y), got {kind}.", "함수 f(x, y)를 넣어야 합니다. 입력: {kind}",
                       kind=type(function).__name__)
    with torch.no_grad():
        result = function(x.clone(), y.clone())
    if not isinstance(result, torch.Tensor):
        return invalid("f(x, y) must return a tensor, got {kind}.", "f(x, y)는 텐서를 돌려줘야 합니다. 반환값: {kind}",
                       kind=type(result).__name__)
    if result.shape != x.shape:
        return invalid("f(x, y) must return one value per element (shape {expected}), got shape {shape}. "
                       "Do not reduce with .mean() or .sum().",
                       "f(x, y)는 원소마다 값 하나를 돌려줘야 합니다(모양 {expected}). 반환된 모양: {shape}. "
                       ".mean()이나 .sum()으로 줄이지 마세요.", expected=tuple(x.shape), shape=tuple(result.shape))
    return result.detach().float()


@exercise
def logits_bce(answer):
    """A function (x, y) -> per-element binary cross-entropy on logits, accurate everywhere."""
    x, y = _grid()
    result = _call(answer, x, y)
    if not isinstance(result, torch.Tensor):
        return result
    exact = numerics.exact_bce_with_logits(x, y)
    errors = numerics.ulp_error(result, exact)
    worst = int(errors.argmax())
    if errors[worst] <= 4:
        return correct("Correct: within {ulps:.2g} ULP of the exact loss on all {count} inputs, x = ±100 included.",
                       "정답입니다: x = ±100을 포함한 {count}개 입력 모두에서 정확한 손실과 {ulps:.2g} ULP 이내입니다.",
                       ulps=float(errors.max()), count=x.numel())
    at = dict(x=x[worst].item(), y=y[worst].item(), got=result[worst].item(), exact=exact[worst].item())
    if not math.isfinite(at["got"]):
        return incorrect("At x = {x:g}, y = {y:g} you return {got}. Something overflowed: do you form sigmoid(x), or "
                         "exp(-x) without the absolute value? Use max(x, 0) - x*y + log1p(exp(-|x|)).",
                         "x = {x:g}, y = {y:g}에서 {got}이(가) 나옵니다. 어딘가에서 오버플로가 났습니다. sigmoid(x)를 "
                         "만들거나 절댓값 없이 exp(-x)를 쓰지 않았나요? max(x, 0) - x*y + log1p(exp(-|x|))를 쓰세요.", **at)
    if torch.equal(result, F.binary_cross_entropy_with_logits(x, y, reduction="none")):
        return incorrect("That is torch's own op, which returns {got:.6g} at x = {x:g}, y = {y:g} (exact {exact:.6g}): "
                         "its forward cancels for y = 0, x < 0. Write max(x, 0) - x*y + log1p(exp(-|x|)) yourself.",
                         "그것은 torch의 연산 그대로입니다. x = {x:g}, y = {y:g}에서 {got:.6g}을(를) 돌려주는데 정확한 값은 "
                         "{exact:.6g}입니다. y = 0, x < 0에서 순전파에 자릿수 상쇄가 일어나기 때문입니다. "
                         "max(x, 0) - x*y + log1p(exp(-|x|))를 직접 쓰세요.", **at)
    if at["got"] == 0 and at["exact"] > 0:
        return incorrect("At x = {x:g}, y = {y:g} you return 0, but the exact loss is {exact:.6g}: a tiny term was "
                         "rounded away. Use torch.log1p(t) instead of torch.log(1 + t), and add log1p(exp(-|x|)) to "
                         "max(x, 0) - x*y instead of subtracting nearly equal numbers.",
                         "x = {x:g}, y = {y:g}에서 0이 나오지만 정확한 손실은 {exact:.6g}입니다. 아주 작은 항이 반올림으로 "
                         "사라졌습니다. torch.log(1 + t) 대신 torch.log1p(t)를 쓰고, 거의 같은 두 수를 빼지 말고 "
                         "max(x, 0) - x*y에 log1p(exp(-|x|))를 더하세요.", **at)
    return incorrect("At x = {x:g}, y = {y:g} you return {got:.6g}, but the exact loss is {exact:.6g}. "
                     "Check the signs: max(x, 0) - x*y + log1p(exp(-|x|)).",
                     "x = {x:g}, y = {y:g}에서 {got:.6g}이(가) 나오지만 정확한 손실은 {exact:.6g}입니다. "
                     "부호를 확인하세요: max(x, 0) - x*y + log1p(exp(-|x|)).", **at)


@exercise
def logits_gradient(answer):
    """A function (x, y) -> dL/dx of binary cross-entropy on logits."""
    x, y = _grid()
    result = _call(answer, x, y)
    if not isinstance(result, torch.Tensor):
        return result
    exact = numerics.exact_bce_with_logits_grad(x, y)
    difference = (result.double() - exact).abs().nan_to_num(nan=math.inf)
    if difference.max() <= 1e-6:
        return correct("Correct: dL/dx = sigmoid(x) - y, bounded by 1 in size for every logit.",
                       "정답입니다: dL/dx = sigmoid(x) - y이고, 어떤 로짓에서도 크기가 1을 넘지 않습니다.")
    worst = int(difference.argmax())
    at = dict(x=x[worst].item(), y=y[worst].item(), got=result[worst].item(), exact=exact[worst].item())
    if torch.allclose(-result.double(), exact, atol=1e-6):
        return incorrect("The sign is flipped: at x = {x:g}, y = {y:g} you return {got:.6g}, exact {exact:.6g}. "
                         "The loss grows when sigmoid(x) moves away from y.",
                         "부호가 반대입니다: x = {x:g}, y = {y:g}에서 {got:.6g}이(가) 나오는데 정확한 값은 {exact:.6g}입니다. "
                         "sigmoid(x)가 y에서 멀어질수록 손실이 커집니다.", **at)
    sigmoid = torch.sigmoid(x.double())
    if torch.allclose(result.double(), sigmoid, atol=1e-6):
        return incorrect("You return sigmoid(x), which is the gradient only for y = 0. At x = {x:g}, y = {y:g} it gives "
                         "{got:.6g}, exact {exact:.6g}: the label is missing.",
                         "sigmoid(x)를 돌려주는데, 이것은 y = 0일 때의 그래디언트일 뿐입니다. x = {x:g}, y = {y:g}에서 "
                         "{got:.6g}이(가) 나오는데 정확한 값은 {exact:.6g}입니다. 레이블이 빠졌습니다.", **at)
    if torch.allclose(result.double(), sigmoid * (1 - sigmoid), atol=1e-6):
        return incorrect("That is sigmoid'(x) = sigmoid(x)(1 - sigmoid(x)), the derivative of the sigmoid alone. The "
                         "loss's derivative is simpler: those factors cancel.",
                         "그것은 시그모이드 자체의 도함수 sigmoid(x)(1 - sigmoid(x))입니다. 손실의 도함수는 더 간단합니다. "
                         "그 인수들이 약분되기 때문입니다.")
    return incorrect("At x = {x:g}, y = {y:g} you return {got:.6g}, exact {exact:.6g}. Differentiate "
                     "max(x, 0) - x*y + log(1 + exp(-|x|)) or the textbook formula; the factors of sigmoid cancel.",
                     "x = {x:g}, y = {y:g}에서 {got:.6g}이(가) 나오는데 정확한 값은 {exact:.6g}입니다. "
                     "max(x, 0) - x*y + log(1 + exp(-|x|))나 교과서 공식을 미분해 보세요. 시그모이드 인수가 약분됩니다.", **at)


@exercise(takes_number=True)
def logits_log_zero_float16(answer):
    """The smallest float16 x > 0 for which torch.log(1 + torch.exp(-x)) is exactly 0 in float16."""

    def vanishes(t):
        return torch.log(1 + torch.exp(-t)) == 0

    boundary = numerics.find_boundary(vanishes, 0.0, 100.0, torch.float16)
    float32_boundary = numerics.find_boundary(vanishes, 0.0, 100.0, torch.float32)
    value = answer  # a float: @exercise(takes_number=True) converted or refused it
    if math.isnan(value):
        return invalid("nan is not a logit: give a number such as 8.0.", "nan은 로짓이 아닙니다. 8.0 같은 숫자를 넣으세요.")
    value = torch.tensor(value, dtype=torch.float16)
    if not torch.isfinite(value):
        return incorrect("{value} is not a finite float16 number; float16 reaches only 65504.",
                         "{value}은(는) 유한한 float16 수가 아닙니다. float16은 65504까지만 나타냅니다.", value=answer)
    rounded = value.item()
    if rounded == boundary:
        return correct("Correct: from x = {boundary!r}, float16 rounds 1 + exp(-x) to 1 (float32 holds out until {b32:.4f}).",
                       "정답입니다: x = {boundary!r}부터 float16은 1 + exp(-x)를 1로 반올림합니다 "
                       "(float32는 {b32:.4f}까지 버팁니다).", boundary=boundary, b32=float32_boundary)
    if abs(rounded - float32_boundary) < 1e-2:
        return incorrect("That is the float32 boundary. Repeat the search with torch.float16 tensors: float16 has fewer "
                         "digits, so 1 + exp(-x) rounds to 1 much sooner.",
                         "그것은 float32의 경계입니다. torch.float16 텐서로 다시 찾아 보세요. float16은 자릿수가 적어서 "
                         "1 + exp(-x)가 훨씬 일찍 1로 반올림됩니다.")
    if bool(vanishes(value)) and rounded > 0:
        return incorrect("At x = {value!r} the result is 0, but a smaller float16 x also gives 0. Go lower.",
                         "x = {value!r}에서 결과는 0이지만, 더 작은 float16 x에서도 0이 됩니다. 더 낮춰 보세요.", value=rounded)
    return incorrect("At x = {value!r} the float16 result is not 0 yet. Go higher "
                     "(numerics.find_boundary(..., dtype=torch.float16) does the bisection).",
                     "x = {value!r}에서 float16 결과는 아직 0이 아닙니다. 더 높여 보세요 "
                     "(numerics.find_boundary(..., dtype=torch.float16)가 이분법을 해 줍니다).", value=rounded)
