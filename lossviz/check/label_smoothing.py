"""Exercises of 05_label_smoothing: torch's smoothed target, the equivalent epsilon, the optimal margin."""
import math

import torch
import torch.nn.functional as F

from ..targets import smoothed_targets
from ._feedback import as_number, correct, exercise, incorrect, invalid, number, tensor_close

# (labels, K, epsilon) the student's function is tried on
_TARGET_CASES = ((torch.tensor([0, 2, 1]), 3, 0.1), (torch.tensor([4, 0, 3, 3]), 5, 0.2),
                 (torch.tensor([1, 0]), 2, 0.3), (torch.tensor([7]), 10, 0.05))


@exercise
def smoothing_torch_target(answer):
    """A function (labels, num_classes, epsilon) -> the (N, K) target nn.CrossEntropyLoss(label_smoothing=epsilon) uses."""
    if not callable(answer):
        return invalid("Expected a function (labels, num_classes, epsilon) -> target, got {kind}.",
                       "함수 (labels, num_classes, epsilon) -> 타깃을 넣어야 합니다. 입력: {kind}",
                       kind=type(answer).__name__)
    for labels, classes, epsilon in _TARGET_CASES:
        expected = smoothed_targets(labels, classes, epsilon)
        result = answer(labels.clone(), classes, epsilon)
        problem = tensor_close(result, expected, rtol=1e-5, atol=1e-6)
        if problem is None:
            continue
        case = f"labels={labels.tolist()}, K={classes}, ε={epsilon}"
        if isinstance(result, torch.Tensor) and result.shape == expected.shape:
            blog = smoothed_targets(labels, classes, epsilon, convention="uniform_others")
            if tensor_close(result, F.one_hot(labels, classes).to(expected.dtype), rtol=1e-5, atol=1e-6) is None:
                return incorrect("For {case} you return the plain one-hot target: no smoothing at all. torch takes ε away "
                                 "from the true class and spreads it over all K classes: (1 − ε)·onehot + ε/K.",
                                 "{case}에서 스무딩하지 않은 원-핫 타깃을 그대로 돌려줍니다. torch는 정답 클래스에서 ε을 떼어 "
                                 "K개 클래스 모두에 나눕니다: (1 − ε)·onehot + ε/K.", case=case)
            if tensor_close(result, blog, rtol=1e-5, atol=1e-6) is None:
                return incorrect("For {case} you return the blog convention (1 − ε on the true class, ε/(K−1) elsewhere). "
                                 "torch spreads ε over all K classes, the true one included: (1 − ε)·onehot + ε/K.",
                                 "{case}에서 블로그 규약(정답 클래스에 1 − ε, 나머지에 ε/(K−1))을 돌려줍니다. "
                                 "torch는 ε을 정답 클래스를 포함한 K개 클래스 모두에 나눕니다: (1 − ε)·onehot + ε/K.", case=case)
            sums = result.detach().to(torch.float64).sum(-1)
            if not torch.allclose(sums, torch.ones_like(sums), atol=1e-4):
                return incorrect("For {case} the rows of your target sum to {sums}, not 1. Hint: (1 − ε)·onehot + ε/K.",
                                 "{case}에서 타깃의 각 행의 합이 1이 아니라 {sums}입니다. 힌트: (1 − ε)·onehot + ε/K.",
                                 case=case, sums=[round(v, 4) for v in sums.tolist()])
        return incorrect("For {case}: {problem}. Expected {expected}.", "{case}: {problem}. 기대한 값: {expected}",
                         case=case, problem=problem, expected=[[round(v, 4) for v in row] for row in expected.tolist()])
    logits = torch.tensor([[1.0, -0.5, 2.0, 0.0, 0.3]])
    through_torch = F.cross_entropy(logits, torch.tensor([3]), label_smoothing=0.2).item()
    return correct("Correct: your target gives exactly torch's loss (for example {loss:.4f} for K = 5, ε = 0.2).",
                   "정답입니다: 여러분의 타깃으로 계산한 손실이 torch의 손실과 같습니다 (예: K = 5, ε = 0.2에서 {loss:.4f}).",
                   loss=through_torch)


@exercise
def smoothing_equivalent_epsilon(answer):
    """The label_smoothing for torch that reproduces the blog convention with epsilon = 0.2 and K = 5."""
    epsilon, classes = 0.2, 5
    expected = epsilon * classes / (classes - 1)
    blog = smoothed_targets(torch.tensor([0]), classes, epsilon, convention="uniform_others")
    what = ("torch's label_smoothing", "torch의 label_smoothing")
    feedback = number(answer, expected, rel=1e-4, what=what)
    if feedback is not None:
        if feedback.passed:
            same = torch.allclose(smoothed_targets(torch.tensor([0]), classes, as_number(answer)), blog)
            return correct("Correct: label_smoothing = {value:.4g} gives the blog's target {target} (same: {same}).",
                           "정답입니다: label_smoothing = {value:.4g}이면 블로그의 타깃 {target}과(와) 같습니다 (같은가: {same}).",
                           value=expected, target=[round(v, 4) for v in blog[0].tolist()], same=same)
        return feedback
    value = as_number(answer)
    if math.isclose(value, epsilon, rel_tol=1e-4):
        return incorrect("With label_smoothing = 0.2 torch puts ε/K = 0.04 on each other class, but the blog puts "
                         "ε/(K − 1) = 0.05 there. Which ε' gives ε'/K = 0.05?",
                         "label_smoothing = 0.2이면 torch는 다른 클래스마다 ε/K = 0.04를 주지만, 블로그는 ε/(K − 1) = 0.05를 줍니다. "
                         "ε'/K = 0.05가 되는 ε'은 얼마일까요?")
    if math.isclose(value, epsilon * (classes - 1) / classes, rel_tol=1e-4):
        return incorrect("The factor is upside down: torch needs a larger ε than the blog, because it also gives part "
                         "of ε back to the true class.",
                         "비율이 뒤집혔습니다. torch는 ε의 일부를 정답 클래스에도 돌려주므로 블로그보다 큰 ε이 필요합니다.")
    return incorrect("Not quite. Set torch's ε'/K equal to the blog's ε/(K − 1) and solve for ε'.",
                     "아닙니다. torch의 ε'/K를 블로그의 ε/(K − 1)과 같게 놓고 ε'을 구해 보세요.")


@exercise
def smoothing_optimal_margin(answer):
    """The margin m* that minimises the loss of logits [m, 0, ..., 0], K = 10, label_smoothing = 0.1 (torch)."""
    classes, epsilon = 10, 0.1
    target = smoothed_targets(torch.tensor(0), classes, epsilon, dtype=torch.float64)
    expected = math.log(target[0].item() / target[1].item())
    feedback = number(answer, expected, rel=1e-3, what=("the optimal margin m*", "최적 마진 m*"))
    if feedback is not None:
        return feedback
    value = as_number(answer)
    blog = smoothed_targets(torch.tensor(0), classes, epsilon, convention="uniform_others", dtype=torch.float64)
    if math.isinf(value):
        return incorrect("An infinite margin is the optimum without smoothing (ε = 0). With ε = 0.1 the loss has a minimum "
                         "where softmax equals the target.",
                         "무한대 마진은 스무딩이 없을 때(ε = 0)의 최적값입니다. ε = 0.1이면 softmax가 타깃과 같아지는 곳에 "
                         "최소점이 있습니다.")
    if math.isclose(value, math.log(blog[0].item() / blog[1].item()), rel_tol=1e-3):
        return incorrect("That is the optimum for the blog convention (0.9 and 0.1/9). torch's target is "
                         "(1 − ε)·onehot + ε/K.",
                         "그것은 블로그 규약(0.9와 0.1/9)의 최적값입니다. torch의 타깃은 (1 − ε)·onehot + ε/K입니다.")
    if math.isclose(value, math.log10(target[0].item() / target[1].item()), rel_tol=1e-3):
        return incorrect("Use the natural logarithm (math.log), not log10.", "상용로그(log10)가 아니라 자연로그(math.log)를 쓰세요.")
    return incorrect("Not quite. With logits [m, 0, …, 0], p_true / p_other = e^m; the loss is smallest where this ratio "
                     "equals t_true / t_other.",
                     "아닙니다. 로짓이 [m, 0, …, 0]이면 p_true / p_other = e^m입니다. 이 비율이 t_true / t_other와 같아지는 "
                     "곳에서 손실이 가장 작습니다.")
