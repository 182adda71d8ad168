"""Exercises of 04_cross_entropy: LogSumExp, binary as two classes, and pos_weight for multi-label."""
import math

import torch
import torch.nn.functional as F

from ._feedback import correct, exercise, incorrect, invalid, say


def _function_result(function, *arguments, signature: str):
    """``function(*arguments)`` as a detached tensor, or an invalid Feedback saying what is wrong."""
    if not callable(function):
        return invalid("Expected a function {signature}, got {kind}.", "함수 {signature}을(를) 넣어야 합니다. 입력: {kind}",
                       signature=signature, kind=type(function).__name__)
    with torch.no_grad():
        result = function(*(a.clone() for a in arguments))
    if not isinstance(result, torch.Tensor):
        return invalid("{signature} must return a tensor, got {kind}.", "{signature}은(는) 텐서를 돌려줘야 합니다. 반환값: {kind}",
                       signature=signature, kind=type(result).__name__)
    return result.detach()


def _log_softmax_inputs():
    generator = torch.Generator().manual_seed(0)
    return [torch.randn(5, 4, generator=generator) * 3,
            torch.tensor([[1000.0, 0.0, -1000.0]]),   # softmax underflows to 0
            torch.tensor([[100.0, 99.0, 98.0, 0.0]])]  # exp overflows without the shift


@exercise
def ce_log_softmax(answer):
    """A function z (N, C) -> log-probabilities (N, C) through LogSumExp, without torch.log_softmax."""
    for z in _log_softmax_inputs():
        try:
            result = _function_result(answer, z, signature="f(z)")
        except RuntimeError as error:
            if "must match the size" not in str(error):
                raise
            return invalid("Your function raised: {error}. The row maximum and the row sum have shape (N,) and do not "
                           "line up with z of shape (N, C): keep the class dimension with keepdim=True.",
                           "함수를 실행하다가 RuntimeError가 발생했습니다: {error}. 행의 최댓값과 행의 합은 모양이 (N,)이라 (N, C) "
                           "모양의 z와 맞지 않습니다. keepdim=True로 클래스 차원을 남겨 두세요.", error=error)
        if not isinstance(result, torch.Tensor):
            return result
        expected = torch.log_softmax(z, dim=1)
        if result.shape != expected.shape:
            return invalid("f(z) must return a tensor of z's shape {expected}, got {shape}. Subtract the LogSumExp "
                           "of each row with keepdim=True so that it broadcasts.",
                           "f(z)는 z와 같은 모양 {expected}의 텐서를 돌려줘야 합니다. 반환된 모양: {shape}. 행마다 구한 "
                           "LogSumExp를 keepdim=True로 남겨 두면 브로드캐스팅됩니다.",
                           expected=tuple(expected.shape), shape=tuple(result.shape))
        result = result.to(expected.dtype)
        if torch.allclose(result, expected, rtol=1e-5, atol=1e-4):
            continue
        rows = z.tolist()[0] if z.shape[0] == 1 else None
        where = say("For z = {z}", "z = {z}일 때", z=rows) if rows is not None else say("For random logits", "무작위 로짓에서")
        if not bool(torch.isfinite(result).all()):
            return incorrect("{where} you return {got}: something overflowed or underflowed. Subtract the row "
                             "maximum m first: log p_j = (z_j - m) - log(sum_k exp(z_k - m)).",
                             "{where} {got}이(가) 나옵니다. 어딘가에서 오버플로나 언더플로가 났습니다. 행의 최댓값 m을 "
                             "먼저 빼세요: log p_j = (z_j - m) - log(sum_k exp(z_k - m)).",
                             where=where, got=[round(v, 4) for v in result.flatten().tolist()[:4]])
        if torch.allclose(result.exp().sum(dim=0), torch.ones(z.shape[1]), atol=1e-4) and z.shape[0] > 1:
            return incorrect("Your probabilities sum to 1 down each column: reduce over the classes, dim=1, not dim=0.",
                             "확률의 합이 열마다 1이 됩니다. 배치 차원(dim=0)이 아니라 클래스 차원(dim=1)으로 합하세요.")
        return incorrect("{where} your values differ from log_softmax (largest difference {worst:.3g}). "
                         "log p_j = (z_j - m) - log(sum_k exp(z_k - m)), m the row maximum.",
                         "{where} log_softmax와 값이 다릅니다 (최대 차이 {worst:.3g}). "
                         "log p_j = (z_j - m) - log(sum_k exp(z_k - m))이고, m은 행의 최댓값입니다.",
                         where=where, worst=(result - expected).abs().max().item())
    return correct("Correct: finite and equal to log_softmax, even for z = [1000, 0, -1000].",
                   "정답입니다: z = [1000, 0, -1000]에서도 유한하고 log_softmax와 같습니다.")


@exercise
def ce_two_class_logits(answer):
    """A function x (N,) -> two-class logits (N, 2) whose cross-entropy equals BCEWithLogits(x, y)."""
    x = torch.tensor([-30.0, -5.0, -1.0, 0.0, 0.5, 3.0, 30.0])
    result = _function_result(answer, x, signature="f(x)")
    if not isinstance(result, torch.Tensor):
        return result
    if result.shape != (x.numel(), 2):
        hint = (say(" Stack along dim=1, not dim=0.", " dim=0이 아니라 dim=1로 쌓으세요.")
                if result.shape == (2, x.numel()) else "")
        return invalid("f(x) must return logits of shape (N, 2) = {expected}, got {shape}.{hint}",
                       "f(x)는 모양이 (N, 2) = {expected}인 로짓을 돌려줘야 합니다. 반환된 모양: {shape}.{hint}",
                       expected=(x.numel(), 2), shape=tuple(result.shape), hint=hint)
    if not result.is_floating_point():
        return invalid("The logits must be a floating-point tensor, got {dtype}.",
                       "로짓은 부동소수점 텐서여야 합니다. 입력 자료형: {dtype}", dtype=result.dtype)
    for label in (0, 1):
        y = torch.full_like(x, float(label))
        expected = F.binary_cross_entropy_with_logits(x, y, reduction="none")
        got = F.cross_entropy(result.float(), y.long(), reduction="none")
        if not torch.allclose(got, expected, rtol=1e-5, atol=1e-6):
            flipped = F.cross_entropy(result.float(), 1 - y.long(), reduction="none")
            if torch.allclose(flipped, expected, rtol=1e-5, atol=1e-6):
                return incorrect("Your classes are swapped: class 1 must be the positive one, so x belongs in "
                                 "column 1 and the constant in column 0.",
                                 "클래스가 뒤바뀌었습니다. 클래스 1이 양성이어야 하므로 x는 열 1에, 상수는 열 0에 둬야 합니다.")
            difference = result[:, 1].double() - result[:, 0].double()
            scale = (difference[-1] / x[-1].double()).item()
            if torch.allclose(difference, scale * x.double(), rtol=1e-5, atol=1e-6) and not math.isclose(scale, 1.0):
                return incorrect("The difference of your two logits is {scale:.3g}·x; it must be exactly x, since "
                                 "sigmoid(x) = softmax([0, x])[1].",
                                 "두 로짓의 차이가 {scale:.3g}·x입니다. sigmoid(x) = softmax([0, x])[1]이므로 차이는 정확히 "
                                 "x여야 합니다.", scale=scale)
            index = int((got - expected).abs().nan_to_num(nan=math.inf).argmax())
            return incorrect("For x = {x:g}, y = {y} cross-entropy gives {got:.6g}, BCEWithLogits {expected:.6g}. "
                             "Only the difference of the two logits matters: sigmoid(x) = softmax([0, x])[1].",
                             "x = {x:g}, y = {y}에서 교차 엔트로피는 {got:.6g}, BCEWithLogits는 {expected:.6g}입니다. "
                             "두 로짓의 차이만 중요합니다: sigmoid(x) = softmax([0, x])[1].",
                             x=x[index].item(), y=label, got=got[index].item(), expected=expected[index].item())
    return correct("Correct: cross-entropy on these two logits equals BCEWithLogits for y = 0 and y = 1.",
                   "정답입니다: 이 두 로짓의 교차 엔트로피가 y = 0과 y = 1 모두에서 BCEWithLogits와 같습니다.")


def _targets():
    generator = torch.Generator().manual_seed(1)
    targets = (torch.rand(40, 3, generator=generator) < torch.tensor([0.5, 0.2, 0.05])).float()
    targets[0] = 1.0  # at least one positive per label
    return targets


@exercise
def ce_pos_weight_for(answer):
    """A function targets (N, K) -> pos_weight (K,): negatives / positives for each label."""
    targets = _targets()
    result = _function_result(answer, targets, signature="f(targets)")
    if not isinstance(result, torch.Tensor):
        return result
    positives = targets.sum(dim=0)
    expected = (targets.shape[0] - positives) / positives
    if result.shape != expected.shape:
        hint = (say(" You reduced over the labels: sum over the samples, dim=0.",
                    " 레이블 방향으로 합했습니다. 샘플 방향(dim=0)으로 합하세요.")
                if result.shape == (targets.shape[0],) else "")
        return invalid("f(targets) must return one weight per label, shape {expected}, got {shape}.{hint}",
                       "f(targets)는 레이블마다 가중치 하나, 모양 {expected}을(를) 돌려줘야 합니다. 반환된 모양: {shape}.{hint}",
                       expected=tuple(expected.shape), shape=tuple(result.shape), hint=hint)
    result = result.double()
    expected = expected.double()
    if torch.allclose(result, expected, rtol=1e-5):
        return correct("Correct: pos_weight = {values} for labels with {positives} positives out of {n}.",
                       "정답입니다: 양성이 {n}개 중 {positives}개인 레이블들에 pos_weight = {values}.",
                       values=[round(v, 3) for v in expected.tolist()], positives=[int(v) for v in positives.tolist()],
                       n=targets.shape[0])
    if torch.allclose(result, 1 / expected, rtol=1e-5):
        return incorrect("Upside down: that is positives / negatives. The rare positives need the large weight.",
                         "뒤집혔습니다. 그것은 양성 / 음성입니다. 드문 양성에 큰 가중치가 가야 합니다.")
    if torch.allclose(result, targets.shape[0] / positives.double(), rtol=1e-5):
        return incorrect("That is N / positives; divide the negatives, N - positives, by the positives.",
                         "그것은 N / 양성 수입니다. 음성 수 N - 양성 수를 양성 수로 나누세요.")
    return incorrect("For these targets pos_weight should be {values}, you return {got}: count the positives of each "
                     "label with targets.sum(dim=0).",
                     "이 타깃이라면 pos_weight가 {values}이(가) 되어야 하는데 {got}이(가) 나옵니다. 레이블별 양성 수는 "
                     "targets.sum(dim=0)으로 셉니다.",
                     values=[round(v, 3) for v in expected.tolist()], got=[round(v, 3) for v in result.tolist()])
