"""Exercises of 08_mixed_precision: where float16 breaks torch's BCELoss, a loss that is safe in half
precision, and the smallest loss scale that keeps a float16 gradient alive."""
import math

import torch
import torch.nn.functional as F

from .. import numerics
from ._feedback import correct, exercise, incorrect, invalid


def _sigmoid_bce_gradient(x: torch.Tensor, label: float) -> torch.Tensor:
    logit = x.detach().clone().requires_grad_()
    F.binary_cross_entropy(torch.sigmoid(logit), torch.full_like(logit, label)).backward()
    return logit.grad


def _gradient_not_finite(x: torch.Tensor) -> bool:
    return not bool(torch.isfinite(_sigmoid_bce_gradient(x, 1.0)).all())


@exercise(takes_number=True)
def mixed_float16_inf_gradient(answer):
    """The float16 x < 0 nearest 0 from which Sigmoid + BCELoss's gradient for y = 1 is no longer finite."""
    expected = numerics.find_boundary(_gradient_not_finite, 0.0, -100.0, torch.float16)
    value = answer  # a float: @exercise(takes_number=True) converted or refused it
    rounded = torch.tensor(value, dtype=torch.float16).item()
    if rounded == expected:
        return correct("Correct: from x = {expected!r} the float16 gradient is -inf: 1/p passes the largest "
                       "float16, 65504, once x < -ln 65504.",
                       "정답입니다: x = {expected!r}부터 float16 그래디언트는 -inf입니다. x < -ln 65504이면 1/p가 "
                       "float16의 최댓값 65504를 넘기 때문입니다.", expected=expected)
    _, lower = numerics.sigmoid_saturation(torch.float16)
    if rounded == lower:
        return incorrect("From there sigmoid is 0 and the gradient is NaN, but it is already -inf closer to 0. "
                         "Go toward 0.",
                         "그 지점부터는 시그모이드가 0이 되어 그래디언트가 NaN이지만, 0에 더 가까운 곳에서 이미 "
                         "-inf입니다. 0 쪽으로 가 보세요.")
    if value >= 0:
        return incorrect("Look at negative logits: for y = 1 the trouble is a confidently wrong x < 0.",
                         "음수 로짓을 보세요. y = 1일 때 문제는 확신하며 틀린 x < 0입니다.")
    gradient = _sigmoid_bce_gradient(torch.tensor([rounded], dtype=torch.float16), 1.0).item()
    if not math.isfinite(gradient):
        return incorrect("At x = {value!r} the gradient is {gradient}, but it is not finite closer to 0 either. "
                         "Go toward 0.",
                         "x = {value!r}에서 그래디언트는 {gradient}이지만, 0에 더 가까운 곳에서도 유한하지 않습니다. "
                         "0 쪽으로 가 보세요.", value=rounded, gradient=gradient)
    return incorrect("At x = {value!r} the gradient is still finite ({gradient:.4g}). Go further left, or bisect "
                     "with numerics.find_boundary(..., dtype=torch.float16).",
                     "x = {value!r}에서 그래디언트는 아직 유한합니다({gradient:.4g}). 더 왼쪽으로 가거나 "
                     "numerics.find_boundary(..., dtype=torch.float16)로 이분법을 쓰세요.", value=rounded, gradient=gradient)


_SAFE_CASES = (  # (dtype, logits, labels): confident and wrong, confident and right, moderate
    (torch.float16, [10.0, -15.0, 3.0, -2.0, 0.5], [0.0, 1.0, 1.0, 0.0, 1.0]),
    (torch.bfloat16, [7.0, -40.0, 2.0, -1.0], [0.0, 1.0, 0.0, 1.0]),
    (torch.float32, [30.0, -50.0, 1.0, -3.0], [0.0, 1.0, 1.0, 0.0]),
)


@exercise
def mixed_safe_loss(answer):
    """A function (logits, labels) -> mean binary cross-entropy that stays right in half precision."""
    if not callable(answer):
        return invalid("Expected a function (logits, labels) -> loss, got {kind}.",
                       "(logits, labels) -> 손실 형태의 함수를 넣어야 합니다. 입력: {kind}", kind=type(answer).__name__)
    for dtype, values, targets in _SAFE_CASES:
        logits = torch.tensor(values, dtype=dtype, requires_grad=True)
        labels = torch.tensor(targets, dtype=dtype)
        loss = answer(logits, labels)
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            got = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
            return invalid("Return the mean loss as a one-element tensor, got {got}.",
                           "평균 손실을 원소 하나짜리 텐서로 돌려주어야 합니다. 결과: {got}", got=got)
        if not loss.requires_grad:
            return invalid("The loss must be computed from `logits` with torch operations, so that autograd "
                           "can differentiate it.",
                           "자동 미분이 미분할 수 있도록 손실을 `logits`로부터 torch 연산으로 계산해야 합니다.")
        loss.backward()
        exact_loss = numerics.exact_bce_with_logits(logits, labels).mean().item()
        exact_grad = numerics.exact_bce_with_logits_grad(logits, labels) / len(values)
        where = f"{dtype}, logits {values}, labels {targets}"
        if not math.isfinite(loss.item()) or not bool(torch.isfinite(logits.grad).all()):
            return incorrect("In {where} your loss is {loss} and its gradient {grad}: not finite. Sigmoid first "
                             "and then a log breaks once sigmoid saturates; give the loss the logits.",
                             "{where}에서 손실은 {loss}, 그래디언트는 {grad}(으)로 유한하지 않습니다. 시그모이드를 먼저 "
                             "계산하고 로그를 취하면 시그모이드가 포화되는 순간 깨집니다. 손실에 로짓을 넘기세요.",
                             where=where, loss=loss.item(), grad=logits.grad.tolist())
        if not math.isclose(loss.item(), exact_loss, rel_tol=2e-2):
            return incorrect("In {where} your loss is {loss:.4g}, the exact mean is {exact:.4g}. Is it the mean "
                             "binary cross-entropy, computed from the logits (not through sigmoid and a clamp)?",
                             "{where}에서 손실이 {loss:.4g}인데, 정확한 평균은 {exact:.4g}입니다. 로짓으로부터 "
                             "(시그모이드와 클램프를 거치지 않고) 계산한 이진 교차 엔트로피의 평균인가요?",
                             where=where, loss=loss.item(), exact=exact_loss)
        if not torch.allclose(logits.grad.double(), exact_grad, rtol=2e-2, atol=2e-3):
            return incorrect("In {where} the loss is right but the gradient {grad} is not (exact: {exact}). A "
                             "clamp in the backward pass can do that.",
                             "{where}에서 손실은 맞지만 그래디언트 {grad}이(가) 틀립니다(정확한 값: {exact}). 역전파의 "
                             "클램프가 그런 결과를 냅니다.", where=where, grad=[round(g, 4) for g in logits.grad.tolist()],
                             exact=[round(g, 4) for g in exact_grad.tolist()])
    return correct("Correct: finite and accurate in float16, bfloat16 and float32, loss and gradient. "
                   "This is what autocast lets through.",
                   "정답입니다: float16, bfloat16, float32 모두에서 손실과 그래디언트가 유한하고 정확합니다. "
                   "autocast가 허용하는 바로 그 방식입니다.")


def float16_logit_gradient(scale: float, count: int = 65536, logit: float = 7.0) -> float:
    """The demo of 08: ``count`` logits ``logit`` with label 1, computed under CPU float16 autocast, mean
    BCEWithLogits times ``scale``; returns one logit's (scaled) float16 gradient."""
    weight = torch.tensor([[logit]], requires_grad=True)
    with torch.autocast("cpu", dtype=torch.float16):
        logits = torch.ones(count, 1) @ weight
        logits.retain_grad()
        loss = F.binary_cross_entropy_with_logits(logits, torch.ones(count, 1))
    (loss * scale).backward()
    return logits.grad[0, 0].item()


@exercise(takes_number=True)
def mixed_smallest_scale(answer):
    """The smallest power-of-two loss scale for which the float16 logit gradient of the demo is not 0."""
    exponent = next(k for k in range(0, 31) if float16_logit_gradient(2.0 ** k) != 0.0)
    expected = 2.0 ** exponent
    value = answer
    if value == expected:
        return correct("Correct: with the loss scaled by {scale:g}, the float16 gradient is {gradient:.3g} "
                       "instead of 0.",
                       "정답입니다: 스케일 {scale:g}에서는 float16 그래디언트가 0이 아니라 {gradient:.3g}입니다.",
                       scale=expected, gradient=float16_logit_gradient(expected))
    if value == exponent and value < expected:
        return incorrect("With the loss scaled by {scale:g} the float16 gradient is still 0. (If {scale:g} is the exponent k, "
                         "give the scale itself, 2**k.)",
                         "스케일 {scale:g}에서는 float16 그래디언트가 여전히 0입니다. ({scale:g}이(가) 지수 k라면 스케일 자체, "
                         "즉 2**k를 넣으세요.)", scale=value)
    if value == exponent:
        return incorrect("That looks like the exponent k; give the scale itself, 2**k.",
                         "지수 k처럼 보입니다. 스케일 자체, 즉 2**k를 넣으세요.")
    if value <= 0 or not math.log2(value).is_integer():
        return incorrect("Give a power of two (1, 2, 4, 8, ...): GradScaler scales by powers of two, so scaling "
                         "and unscaling are exact.",
                         "2의 거듭제곱(1, 2, 4, 8, ...)을 넣으세요. GradScaler는 2의 거듭제곱으로 곱하므로 스케일을 "
                         "곱하고 되돌리는 과정에 반올림 오차가 없습니다.")
    if value > expected:
        return incorrect("A scale of {scale:g} works, but a smaller power of two works too.",
                         "스케일 {scale:g}에서도 되지만, 더 작은 2의 거듭제곱으로도 됩니다.", scale=value)
    return incorrect("With the loss scaled by {scale:g} the float16 gradient is still 0. Go higher.",
                     "스케일 {scale:g}에서는 float16 그래디언트가 여전히 0입니다. 더 키워 보세요.", scale=value)
