"""Exercises of 07_reduction_and_masking: the class-weighted divisor, a per-token mean, a safe masked mean."""
import math

import torch
import torch.nn.functional as F

from ._feedback import as_number, correct, exercise, incorrect, invalid, number

# The exercise's data: class weights and a target with one ignored position (shown in the notebook's task).
DIVISOR_WEIGHT = (1.0, 2.0, 5.0)
DIVISOR_TARGET = (0, 2, 2, 1, -100, 0)


@exercise
def reduction_class_weight_divisor(answer):
    """What cross_entropy's 'mean' divides by for weight=[1, 2, 5] and target [0, 2, 2, 1, -100, 0]."""
    weight = torch.tensor(DIVISOR_WEIGHT, dtype=torch.float64)
    target = torch.tensor(DIVISOR_TARGET)
    logits = torch.randn(len(DIVISOR_TARGET), len(DIVISOR_WEIGHT), dtype=torch.float64,
                         generator=torch.Generator().manual_seed(21))
    # read the divisor off torch itself: 'sum' / 'mean'
    total = F.cross_entropy(logits, target, weight=weight, reduction="sum")
    mean = F.cross_entropy(logits, target, weight=weight)
    expected = (total / mean).item()
    feedback = number(answer, expected, rel=1e-6, what=("the divisor of 'mean'", "'mean'이 나누는 수"))
    if feedback is not None:
        return feedback
    value = as_number(answer)
    kept = target != -100
    hints = [
        (len(DIVISOR_TARGET), "That is the number of all targets, the ignored one included.",
         "무시되는 타깃까지 포함한 전체 타깃 개수입니다."),
        (int(kept.sum()), "That is what 'mean' divides by WITHOUT weight=: the number of kept targets. "
                          "With weight=, each kept target counts with the weight of its class.",
         "weight= 없이 'mean'이 나누는 수, 곧 남는 타깃의 개수입니다. weight=가 있으면 남는 타깃 하나하나가 "
         "자기 클래스의 가중치만큼 셉니다."),
        (float(weight.sum()), "That is the sum of the class weights, each class once. Add the weight of each kept "
                              "target's class instead: w[y_i] for every i that is not ignored.",
         "클래스 가중치를 한 번씩 더한 값입니다. 대신 무시되지 않는 타깃마다 그 클래스의 가중치 w[y_i]를 더하세요."),
        (float(weight[target.clamp_min(0)].sum()), "Close, but the ignored target (-100) must not count: "
                                                   "it contributes neither loss nor weight.",
         "거의 맞았지만 무시되는 타깃(-100)은 세지 않습니다. 손실도 가중치도 보태지 않습니다."),
    ]
    for wrong, en, ko in hints:
        if math.isclose(value, wrong, rel_tol=1e-9):
            return incorrect(en, ko)
    return incorrect("Not the divisor. 'mean' divides by the sum of w[y_i] over the targets that are not ignored.",
                     "나누는 수가 아닙니다. 'mean'은 무시되지 않는 타깃들의 w[y_i]를 모두 더한 값으로 나눕니다.")


def _token_batch(batch, length, vocabulary, lengths, seed):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, length, vocabulary, generator=generator)
    target = torch.randint(0, vocabulary, (batch, length), generator=generator)
    keep = torch.arange(length) < torch.tensor(lengths)[:, None]
    return logits, target.masked_fill(~keep, -100), keep


@exercise
def reduction_token_mean(answer):
    """A function (logits (B, L, V), target (B, L) padded with -100) -> torch's per-token 'mean'."""
    if not callable(answer):
        return invalid("Expected a function of (logits, target), got {kind}.",
                       "(logits, target)를 받는 함수를 넣어야 합니다. 입력: {kind}", kind=type(answer).__name__)
    # the first batch has L == V, where passing (B, L, V) straight to cross_entropy runs and is wrong
    for shape, lengths, seed in [((2, 4, 4), [4, 2], 31), ((3, 5, 7), [5, 3, 1], 32)]:
        logits, target, keep = _token_batch(*shape, lengths, seed)
        batch, length, vocabulary = shape
        expected = F.cross_entropy(logits.reshape(-1, vocabulary), target.reshape(-1))
        result = answer(logits.clone(), target.clone())
        value = as_number(result)
        if value is None:
            return invalid("Expected one number (a 0-d tensor), got {kind}{shape}.",
                           "숫자 하나(0차원 텐서)를 돌려줘야 합니다. 받은 값: {kind}{shape}", kind=type(result).__name__,
                           shape=tuple(result.shape) if isinstance(result, torch.Tensor) else "")
        if math.isclose(value, expected.item(), rel_tol=1e-5):
            continue
        per_token = F.cross_entropy(logits.transpose(1, 2), target, reduction="none")
        if math.isclose(value, (per_token.sum() / (batch * length)).item(), rel_tol=1e-5):
            return incorrect("You divided by all B·L positions. Padding must not count: divide by the number of "
                             "targets that are not -100 (that is what torch's 'mean' does).",
                             "B·L개 위치 전부로 나눴습니다. 패딩은 세면 안 됩니다. -100이 아닌 타깃의 개수로 나누세요 "
                             "(torch의 'mean'이 그렇게 합니다).")
        if math.isclose(value, (per_token.sum(1) / keep.sum(1)).mean().item(), rel_tol=1e-5):
            return incorrect("That is the mean over sequences of each sequence's mean. torch's 'mean' averages over "
                             "tokens: a long sequence counts more than a short one.",
                             "시퀀스마다 평균을 내고 다시 평균한 값입니다. torch의 'mean'은 토큰 전체를 평균하므로 긴 "
                             "시퀀스가 짧은 시퀀스보다 더 많이 반영됩니다.")
        if length == vocabulary and math.isclose(value, F.cross_entropy(logits, target).item(), rel_tol=1e-5):
            return incorrect("cross_entropy reads dimension 1 as the classes, so (B, L, V) was read as L classes over "
                             "V positions. Use logits.transpose(1, 2) or flatten to (B·L, V).",
                             "cross_entropy는 1번 차원을 클래스로 읽으므로 (B, L, V)를 V개 위치의 L개 클래스로 읽었습니다. "
                             "logits.transpose(1, 2)를 쓰거나 (B·L, V)로 펼치세요.")
        return incorrect("For a batch of shape {shape}: got {value:.6g}, torch gives {expected:.6g}.",
                         "모양이 {shape}인 배치에서 {value:.6g}이(가) 나왔는데 torch는 {expected:.6g}입니다.",
                         shape=shape, value=value, expected=expected.item())
    return correct("Correct: the per-token mean over the kept tokens, on two batch shapes.",
                   "정답입니다: 두 가지 모양의 배치에서 남는 토큰들의 토큰 단위 평균과 같습니다.")


@exercise
def reduction_safe_masked_mean(answer):
    """A function (loss, mask) -> (loss * mask).sum() / mask.sum(), but 0 with a zero gradient for an empty mask."""
    if not callable(answer):
        return invalid("Expected a function of (loss, mask), got {kind}.",
                       "(loss, mask)를 받는 함수를 넣어야 합니다. 입력: {kind}", kind=type(answer).__name__)
    generator = torch.Generator().manual_seed(41)
    loss = (torch.rand(3, 6, generator=generator) * 2).requires_grad_()
    mask = (torch.arange(6) < torch.tensor([6, 4, 1])[:, None]).float()
    result = answer(loss, mask.clone())
    if not isinstance(result, torch.Tensor) or result.numel() != 1:
        return invalid("Expected a one-element tensor (keep it a tensor: no .item()), got {kind}.",
                       "원소가 하나인 텐서를 돌려줘야 합니다 (.item() 없이 텐서로). 받은 값: {kind}",
                       kind=type(result).__name__)
    expected = (loss * mask).sum() / mask.sum()
    if not math.isclose(result.item(), expected.item(), rel_tol=1e-5):
        if math.isclose(result.item(), (loss * mask).mean().item(), rel_tol=1e-5):
            return incorrect("You divided by every position (.mean()). Divide by mask.sum(), the number of positions "
                             "that count.", "모든 위치의 개수로 나눴습니다(.mean()). 반영되는 위치의 개수인 mask.sum()으로 "
                             "나누세요.")
        return incorrect("With some positions kept, got {value:.6g}, expected (loss * mask).sum() / mask.sum() = "
                         "{expected:.6g}.", "일부 위치가 남아 있을 때 {value:.6g}이(가) 나왔는데, "
                         "(loss * mask).sum() / mask.sum() = {expected:.6g}이(가) 나와야 합니다.",
                         value=result.item(), expected=expected.item())
    empty = torch.zeros_like(mask)
    loss.grad = None
    result = answer(loss, empty)
    if not isinstance(result, torch.Tensor) or result.numel() != 1:
        return invalid("With an empty mask, expected a one-element tensor, got {kind}.",
                       "마스크가 비었을 때 원소가 하나인 텐서를 돌려줘야 합니다. 받은 값: {kind}", kind=type(result).__name__)
    if not torch.isfinite(result).all():
        return incorrect("With an all-zero mask your function returns {value} (0 / 0). Guard the divisor: "
                         "mask.sum().clamp_min(1).", "마스크가 모두 0이면 함수가 {value}을(를) 돌려줍니다(0 / 0). "
                         "나누는 수를 mask.sum().clamp_min(1)로 막으세요.", value=result.item())
    if result.item() != 0:
        return incorrect("With an all-zero mask nothing counts, so the loss should be 0; got {value:.6g}.",
                         "마스크가 모두 0이면 반영되는 것이 없으므로 손실은 0이어야 합니다. 받은 값: {value:.6g}",
                         value=result.item())
    if result.grad_fn is None:
        return incorrect("With an all-zero mask you return a constant, cut off from the loss: backward() would fail. "
                         "Keep the computation, (loss * mask).sum() / mask.sum().clamp_min(1), so the gradient is 0.",
                         "마스크가 모두 0일 때 손실과 끊긴 상수를 돌려줘서 backward()가 실패합니다. 계산을 그대로 두고 "
                         "(loss * mask).sum() / mask.sum().clamp_min(1)처럼 쓰면 그래디언트가 0이 됩니다.")
    result.backward()
    if loss.grad is None or not torch.isfinite(loss.grad).all() or (loss.grad != 0).any():
        return incorrect("With an all-zero mask the loss is 0 but its gradient is not all 0 (NaN or nonzero). Divide "
                         "by mask.sum().clamp_min(1) instead of special-casing the value.",
                         "마스크가 모두 0일 때 손실은 0이지만 그래디언트가 모두 0이 아닙니다(NaN이거나 0이 아님). 값을 따로 "
                         "처리하지 말고 mask.sum().clamp_min(1)로 나누세요.")
    return correct("Correct: the masked mean where something is kept, and 0 with a zero gradient when nothing is.",
                   "정답입니다: 남는 위치가 있으면 마스크 평균, 하나도 없으면 0이고 그래디언트도 0입니다.")
