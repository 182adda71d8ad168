"""Exercises of 01_bce_basics: the formula, the soft-label minimum, and BCELoss's weighted 'mean'."""
import math

import torch
import torch.nn.functional as F

from ._feedback import as_number, correct, exercise, incorrect, invalid, number, tensor_close


@exercise
def bce_soft_minimum(answer):
    """The smallest binary cross-entropy any p can reach for the soft label y = 0.2."""
    label = torch.tensor(0.2, dtype=torch.float64)
    # the minimum is at p = y: the loss of predicting the label itself (the entropy of Bernoulli(0.2))
    expected = F.binary_cross_entropy(label, label).item()
    feedback = number(answer, expected, rel=1e-3, what=("the smallest loss for y = 0.2", "y = 0.2일 때 가장 작은 손실"))
    if feedback is not None:
        return feedback
    value = as_number(answer)
    if value == 0:
        return incorrect("0 is the minimum only for a hard label (y = 0 or 1). For y = 0.2 no p reaches 0: "
                         "find the p where the curve bottoms out and evaluate the loss there.",
                         "0은 레이블이 0이나 1일 때만 닿는 최솟값입니다. y = 0.2이면 어떤 p도 0에 닿지 못합니다. "
                         "곡선이 가장 낮은 p를 찾아 그곳의 손실을 계산해 보세요.")
    if math.isclose(value, expected / math.log(2), rel_tol=1e-3):
        return incorrect("That is the minimum in bits (log base 2). The loss uses the natural log: "
                         "-(y ln y + (1 - y) ln(1 - y)), or math.log in Python.",
                         "그것은 비트 단위(밑이 2인 로그)의 최솟값입니다. 손실은 자연로그를 씁니다: "
                         "-(y ln y + (1 - y) ln(1 - y)), 파이썬에서는 math.log.")
    other = F.binary_cross_entropy(torch.tensor(0.3, dtype=torch.float64), torch.tensor(0.3, dtype=torch.float64)).item()
    if math.isclose(value, other, rel_tol=1e-3):
        return incorrect("{value:.4g} is the minimum for y = 0.3, the label in the figure. Redo it for y = 0.2.",
                         "{value:.4g}은(는) 그림의 레이블 y = 0.3일 때의 최솟값입니다. y = 0.2로 다시 계산해 보세요.", value=value)
    if math.isclose(value, 0.2, rel_tol=1e-3):
        return incorrect("0.2 is where the minimum is (p = y). The question asks for the loss there: "
                         "F.binary_cross_entropy(torch.tensor(0.2), torch.tensor(0.2)).",
                         "0.2는 최솟값이 있는 위치(p = y)입니다. 묻는 것은 그 위치의 손실입니다: "
                         "F.binary_cross_entropy(torch.tensor(0.2), torch.tensor(0.2)).")
    return incorrect("Not the minimum. The loss is smallest at p = y; compute -(y log y + (1 - y) log(1 - y)) for y = 0.2.",
                     "최솟값이 아닙니다. 손실은 p = y에서 가장 작습니다. y = 0.2로 -(y log y + (1 - y) log(1 - y))를 계산해 보세요.")


def _bce_cases():
    generator = torch.Generator().manual_seed(11)
    shapes = [(5,), (4, 1), (2, 3, 4)]
    for index, shape in enumerate(shapes):
        p = torch.rand(shape, generator=generator) * 0.98 + 0.01
        if index < 2:
            y = (torch.rand(shape, generator=generator) < 0.5).float()
        else:  # soft labels too: the formula holds for any y in [0, 1]
            y = torch.rand(shape, generator=generator)
        yield p, y


@exercise
def bce_formula(answer):
    """A function bce(p, y) giving the element-wise loss, like F.binary_cross_entropy(..., reduction='none')."""
    if not callable(answer):
        return invalid("Expected a function bce(p, y), got {kind}.", "함수 bce(p, y)를 넣어야 합니다. 입력: {kind}",
                       kind=type(answer).__name__)
    for p, y in _bce_cases():
        expected = F.binary_cross_entropy(p, y, reduction="none")
        result = answer(p.clone(), y.clone())
        if not isinstance(result, torch.Tensor):
            return invalid("Your function should return a tensor of losses, got {kind}.",
                           "함수는 손실 텐서를 돌려줘야 합니다. 받은 값: {kind}", kind=type(result).__name__)
        problem = tensor_close(result, expected, rtol=1e-4, atol=1e-6)
        if problem is None:
            continue
        if isinstance(result, torch.Tensor) and result.numel() == 1 and expected.numel() > 1:
            return incorrect("Your function returns one number; return one loss per element (no .mean() or .sum()).",
                             "함수가 숫자 하나를 돌려줍니다. 원소마다 손실 하나씩 돌려주세요 (.mean()이나 .sum() 없이).")
        if isinstance(result, torch.Tensor) and result.shape == expected.shape:
            result = result.detach().to(expected.dtype)
            if torch.allclose(result, -expected, rtol=1e-4, atol=1e-6):
                return incorrect("The sign is flipped: the loss is MINUS the log-likelihood, so it is >= 0.",
                                 "부호가 반대입니다. 손실은 로그 가능도에 마이너스를 붙인 값이라 0 이상입니다.")
            swapped = F.binary_cross_entropy(p, 1 - y, reduction="none")
            if torch.allclose(result, swapped, rtol=1e-4, atol=1e-6):
                return incorrect("y and 1 - y are swapped: log p goes with y, log(1 - p) with 1 - y.",
                                 "y와 1 - y가 바뀌었습니다. log p에는 y를, log(1 - p)에는 1 - y를 곱합니다.")
            soft = (y > 0) & (y < 1)
            if soft.any() and torch.allclose(result[~soft], expected[~soft], rtol=1e-4, atol=1e-6):
                return incorrect("Right for labels 0 and 1, wrong for soft labels such as {label:.3g}. Do not pick one "
                                 "term by the label: weigh both, y * log p + (1 - y) * log(1 - p).",
                                 "레이블 0과 1에서는 맞지만 {label:.3g} 같은 소프트 레이블에서 틀립니다. 레이블에 따라 "
                                 "항 하나를 고르지 말고 두 항에 모두 가중치를 주세요: y * log p + (1 - y) * log(1 - p).",
                                 label=y[soft][0].item())
        return incorrect("For p of shape {shape}: {problem}. The formula is -(y log p + (1 - y) log(1 - p)).",
                         "모양이 {shape}인 p에서 {problem}. 공식은 -(y log p + (1 - y) log(1 - p))입니다.",
                         shape=tuple(p.shape), problem=problem)
    return correct("Correct: your function matches F.binary_cross_entropy(..., reduction='none') on (N,), (N, 1) and "
                   "(B, H, W) inputs, soft labels included.",
                   "정답입니다: (N,), (N, 1), (B, H, W) 입력과 소프트 레이블 모두에서 "
                   "F.binary_cross_entropy(..., reduction='none')와 같습니다.")


@exercise
def bce_weighted_mean(answer):
    """A function (per_pixel (B, H, W), image_weight (B,)) -> BCELoss's 'mean' with that weight per image."""
    if not callable(answer):
        return invalid("Expected a function of (per_pixel, image_weight), got {kind}.",
                       "(per_pixel, image_weight)를 받는 함수를 넣어야 합니다. 입력: {kind}", kind=type(answer).__name__)
    generator = torch.Generator().manual_seed(12)
    # (2, 3, 2) first: there W == B, so a weight of shape (B,) broadcasts silently along W
    for shape in [(2, 3, 2), (3, 4, 5)]:
        probs = torch.rand(shape, generator=generator) * 0.98 + 0.01
        masks = (torch.rand(shape, generator=generator) < 0.5).float()
        image_weight = torch.rand(shape[0], generator=generator) * 3 + 0.5
        per_pixel = F.binary_cross_entropy(probs, masks, reduction="none")
        expected = F.binary_cross_entropy(probs, masks, weight=image_weight.view(-1, 1, 1)).item()
        result = answer(per_pixel.clone(), image_weight.clone())
        value = as_number(result)
        if value is None:
            return invalid("Expected one number (a 0-d tensor or a float), got {kind}{shape}.",
                           "숫자 하나(0차원 텐서나 float)를 돌려줘야 합니다. 받은 값: {kind}{shape}",
                           kind=type(result).__name__,
                           shape=tuple(result.shape) if isinstance(result, torch.Tensor) else "")
        if math.isclose(value, expected, rel_tol=1e-5):
            continue
        weighted = per_pixel * image_weight.view(-1, 1, 1)
        if math.isclose(value, (weighted.sum() / image_weight.view(-1, 1, 1).expand(shape).sum()).item(), rel_tol=1e-5) \
                or math.isclose(value, (weighted.sum() / image_weight.sum()).item(), rel_tol=1e-5):
            return incorrect("You divided by the sum of the weights. BCELoss's 'mean' divides by the number of "
                             "elements, B·H·W, whatever the weights are.",
                             "가중치의 합으로 나눴습니다. BCELoss의 'mean'은 가중치와 상관없이 원소 개수 B·H·W로 나눕니다.")
        if per_pixel.shape[-1] == image_weight.shape[0] and \
                math.isclose(value, (per_pixel * image_weight).mean().item(), rel_tol=1e-5):
            return incorrect("A weight of shape (B,) broadcasts against the LAST dimension (W), so it weighed columns, "
                             "not images. Reshape it to (B, 1, 1).",
                             "모양이 (B,)인 가중치는 마지막 차원(W)에 맞춰 브로드캐스트되므로 이미지가 아니라 열(column)에 "
                             "곱해졌습니다. (B, 1, 1)로 모양을 바꾸세요.")
        return incorrect("For a batch of shape {shape}: got {value:.6g}, BCELoss gives {expected:.6g}. Multiply each "
                         "image's losses by its weight, add everything up, divide by B·H·W.",
                         "모양이 {shape}인 배치에서 {value:.6g}이(가) 나왔는데 BCELoss는 {expected:.6g}입니다. 각 이미지의 "
                         "손실에 그 이미지의 가중치를 곱해 모두 더한 다음 B·H·W로 나누세요.",
                         shape=shape, value=value, expected=expected)
    return correct("Correct: weight= multiplies each element's loss and 'mean' still divides by B·H·W.",
                   "정답입니다: weight=는 원소마다 손실에 곱해지고, 'mean'은 여전히 B·H·W로 나눕니다.")
