"""Exercises of 06_imbalance_weights: the pos_weight gradient, undoing pos_weight's odds shift, sampler weights."""

import torch
import torch.nn.functional as F

from ._feedback import correct, exercise, incorrect, invalid, tensor_close


def _pos_weight_cases():
    generator = torch.Generator().manual_seed(6)
    x = 6 * torch.rand(12, generator=generator, dtype=torch.float64) - 3
    y = torch.tensor([1.0, 0.0] * 6, dtype=torch.float64)
    soft = torch.rand(12, generator=generator, dtype=torch.float64)
    return ((x, y, 5.0), (x, y, 0.5), (x, soft, 3.0), (x, y, 1.0))


def _autograd(x, y, pos_weight):
    logits = x.clone().requires_grad_()
    F.binary_cross_entropy_with_logits(logits, y, pos_weight=torch.tensor([pos_weight], dtype=x.dtype),
                                       reduction="sum").backward()
    return logits.grad


@exercise
def imbalance_pos_weight_grad(answer):
    """A function (x, y, pos_weight) -> dL/dx per element of BCEWithLogitsLoss(pos_weight=...)."""
    if not callable(answer):
        return invalid("Expected a function (x, y, pos_weight) -> gradient, got {kind}.",
                       "함수 (x, y, pos_weight) -> 그래디언트를 넣어야 합니다. 입력: {kind}", kind=type(answer).__name__)
    for x, y, pos_weight in _pos_weight_cases():
        expected = _autograd(x, y, pos_weight)
        result = answer(x.clone(), y.clone(), pos_weight)
        problem = tensor_close(result, expected, rtol=1e-5, atol=1e-7)
        if problem is None:
            continue
        if isinstance(result, torch.Tensor) and result.shape == expected.shape:
            result = result.detach().to(expected.dtype)
            plain = torch.sigmoid(x) - y
            if torch.allclose(result, plain, atol=1e-7):
                return incorrect("That is σ(x) − y, the gradient without pos_weight. pos_weight multiplies the y·log σ(x) term.",
                                 "그것은 pos_weight가 없을 때의 그래디언트 σ(x) − y입니다. pos_weight는 y·log σ(x) 항에 곱해집니다.")
            if torch.allclose(result, pos_weight * plain, atol=1e-7):
                return incorrect("You scaled every element by pos_weight. Look at a negative (y = 0): its loss term "
                                 "−log(1 − σ(x)) has no pos_weight, so its gradient is σ(x) for any pos_weight.",
                                 "모든 원소에 pos_weight를 곱했습니다. 음성(y = 0)을 보세요. 그 손실 항 −log(1 − σ(x))에는 "
                                 "pos_weight가 없으므로, 그래디언트는 pos_weight와 상관없이 σ(x)입니다.")
            if not bool(((y == 0) | (y == 1)).all()):  # right on 0/1 labels so far, wrong on soft ones
                return incorrect("Right for y = 0 and y = 1, but not for soft labels (here y is between 0 and 1). "
                                 "Differentiate −[pw·y·log σ(x) + (1 − y)·log(1 − σ(x))] without assuming y is 0 or 1.",
                                 "y = 0과 y = 1에서는 맞지만 소프트 레이블(여기서는 y가 0과 1 사이)에서는 틀립니다. "
                                 "y가 0이나 1이라고 가정하지 말고 −[pw·y·log σ(x) + (1 − y)·log(1 − σ(x))]를 미분해 보세요.")
        return incorrect("For pos_weight = {pw} and y = {y}: {problem}. Compare with autograd: "
                         "F.binary_cross_entropy_with_logits(x, y, pos_weight=..., reduction='sum').backward().",
                         "pos_weight = {pw}, y = {y}에서: {problem}. 자동 미분과 비교해 보세요: "
                         "F.binary_cross_entropy_with_logits(x, y, pos_weight=..., reduction='sum').backward().",
                         pw=pos_weight, y="[" + ", ".join(f"{v:.3g}" for v in y.tolist()[:4]) + ", …]", problem=problem)
    return correct("Correct: (pw·y + 1 − y)·σ(x) − pw·y matches autograd, soft labels included.",
                   "정답입니다: (pw·y + 1 − y)·σ(x) − pw·y가 소프트 레이블까지 포함해 자동 미분과 같습니다.")


_PROBABILITIES = torch.tensor([0.01, 0.2, 0.5, 0.9, 0.999], dtype=torch.float64)


@exercise
def imbalance_undo_pos_weight(answer):
    """A function (p, pos_weight) -> the probability a model trained with pos_weight would give without it."""
    if not callable(answer):
        return invalid("Expected a function (p, pos_weight) -> probability, got {kind}.",
                       "함수 (p, pos_weight) -> 확률을 넣어야 합니다. 입력: {kind}", kind=type(answer).__name__)
    p = _PROBABILITIES
    logit = torch.log(p) - torch.log1p(-p)
    for pos_weight in (32.0, 5.0, 0.5):
        expected = p / (p + pos_weight * (1 - p))
        result = answer(p.clone(), pos_weight)
        problem = tensor_close(result, expected, rtol=1e-5, atol=1e-9)
        if problem is None:
            continue
        if isinstance(result, torch.Tensor) and result.shape == expected.shape:
            result = result.detach().to(torch.float64)
            close = lambda other: torch.allclose(result, other, rtol=1e-5, atol=1e-9)
            if close(p / pos_weight):
                return incorrect("Dividing the probability by pos_weight is not it (it would not even stay a probability "
                                 "for pos_weight < 1). pos_weight multiplies the odds p / (1 − p).",
                                 "확률을 pos_weight로 나누는 것이 아닙니다(pos_weight < 1이면 확률이 되지도 않습니다). "
                                 "pos_weight는 오즈 p / (1 − p)에 곱해집니다.")
            if close(pos_weight * p / (pos_weight * p + 1 - p)):
                return incorrect("That goes the wrong way: it applies pos_weight a second time. Divide the odds by "
                                 "pos_weight instead of multiplying.",
                                 "방향이 반대입니다. pos_weight를 한 번 더 적용했습니다. 오즈에 곱하지 말고 pos_weight로 나누세요.")
            if close(torch.sigmoid(logit - pos_weight)):
                return incorrect("Subtract ln(pos_weight) from the logit, not pos_weight itself.",
                                 "로짓에서 pos_weight가 아니라 ln(pos_weight)를 빼세요.")
        return incorrect("For pos_weight = {pw}: {problem}. Hint: odds = p / (1 − p), divide by pos_weight, then "
                         "p = odds / (1 + odds).",
                         "pos_weight = {pw}에서: {problem}. 힌트: 오즈 = p / (1 − p)를 pos_weight로 나눈 다음 "
                         "p = 오즈 / (1 + 오즈)로 되돌리세요.", pw=pos_weight, problem=problem)
    return correct("Correct: dividing the odds by pos_weight (the logit minus ln pos_weight) undoes the shift.",
                   "정답입니다: 오즈를 pos_weight로 나누면(로짓에서 ln pos_weight를 빼면) 이동이 되돌려집니다.")


_SAMPLER_CASES = (torch.tensor([0] * 6 + [1] * 3 + [2]), torch.tensor([1, 0, 1, 1, 1, 1, 1, 0]),
                  torch.tensor([2, 0, 3, 3, 1, 0, 3, 3, 3, 3, 2, 3]))


@exercise
def imbalance_sampler_weights(answer):
    """A function labels -> the weights for WeightedRandomSampler that draw every class equally often."""
    if not callable(answer):
        return invalid("Expected a function labels -> sample weights, got {kind}.",
                       "함수 labels -> 샘플 가중치를 넣어야 합니다. 입력: {kind}", kind=type(answer).__name__)
    for labels in _SAMPLER_CASES:
        counts = torch.bincount(labels)
        result = answer(labels.clone())
        if not isinstance(result, torch.Tensor):
            result = torch.as_tensor(result, dtype=torch.float64)
        result = result.detach().to(torch.float64)
        if result.dim() != 1:
            return incorrect("WeightedRandomSampler wants a 1-D sequence of weights, got shape {shape}.",
                             "WeightedRandomSampler에는 1차원 가중치 시퀀스가 필요합니다. 받은 모양: {shape}",
                             shape=tuple(result.shape))
        if len(result) == len(counts) != len(labels):
            return incorrect("You returned one weight per class ({k} values). WeightedRandomSampler wants one weight per "
                             "sample ({n} values): with K weights it would only ever draw the indices 0 … K−1.",
                             "클래스마다 가중치 하나({k}개)를 돌려주었습니다. WeightedRandomSampler에는 샘플마다 가중치 "
                             "하나({n}개)가 필요합니다. K개만 주면 인덱스 0 … K−1만 뽑습니다.", k=len(counts), n=len(labels))
        if len(result) != len(labels):
            return incorrect("Expected one weight per sample ({n}), got {m}.", "샘플마다 하나씩 {n}개의 가중치가 필요한데 {m}개입니다.",
                             n=len(labels), m=len(result))
        if not bool(torch.isfinite(result).all()) or bool((result < 0).any()) or result.sum() <= 0:
            return incorrect("Weights must be finite, non-negative and not all 0.", "가중치는 유한하고 음수가 아니며 모두 0이면 안 됩니다.")
        share = torch.zeros(len(counts), dtype=torch.float64).index_add_(0, labels, result) / result.sum()
        if torch.allclose(share, torch.full_like(share, 1 / len(counts)), atol=1e-6):
            continue
        if torch.allclose(share, counts.to(torch.float64) / counts.sum(), atol=1e-6):
            return incorrect("With these weights each class is drawn as often as it occurs: nothing changes. Give each "
                             "sample the weight 1 / (number of samples of its class).",
                             "이 가중치로는 각 클래스가 데이터에 있는 비율대로 뽑혀 달라지는 것이 없습니다. 각 샘플에 "
                             "1 / (그 클래스의 샘플 수)를 주세요.")
        return incorrect("For labels {labels} your weights draw the classes with probabilities {share}, not equally. "
                         "Hint: torch.bincount(labels) counts each class; index it with labels.",
                         "레이블 {labels}에서 여러분의 가중치는 클래스를 {share}의 확률로 뽑아 고르지 않습니다. "
                         "힌트: torch.bincount(labels)로 클래스별 개수를 세고 labels로 인덱싱하세요.",
                         labels=labels.tolist(), share=[round(v, 3) for v in share.tolist()])
    return correct("Correct: every class gets the same total weight, so the sampler draws each about equally often.",
                   "정답입니다: 클래스마다 가중치의 합이 같으므로 샘플러가 모든 클래스를 거의 같은 빈도로 뽑습니다.")
