"""Exercises of 00_start_here: two warm-ups that show how the self-checks work."""
import math

import torch
import torch.nn.functional as F

from .. import numerics
from ._feedback import correct, exercise, incorrect, invalid, number


@exercise
def bce_loss_at_30(answer):
    """The loss nn.BCELoss reports for logit x = 30, label y = 0, after Sigmoid."""
    reported = F.binary_cross_entropy(torch.sigmoid(torch.tensor(30.0)), torch.tensor(0.0)).item()
    exact = numerics.exact_bce_with_logits(torch.tensor([30.0]), torch.tensor([0.0])).item()
    feedback = number(answer, reported, what=("the reported loss", "보고된 손실"))
    if feedback is not None:
        return feedback
    value = float(answer)
    if math.isinf(value):
        return incorrect("inf is what the textbook formula gives. torch's BCELoss clamps each log so that it never "
                         "returns inf: run it and look.",
                         "inf는 교과서 공식이 내는 값입니다. torch의 BCELoss는 로그 값을 잘라 내서(clamp) inf를 내지 "
                         "않습니다. 직접 실행해 보세요.")
    if abs(value - exact) < 1e-3:
        return incorrect("{exact:.6g} is the exact loss, but not what BCELoss reports: run it and look.",
                         "{exact:.6g}은(는) 정확한 손실이지만 BCELoss가 보고하는 값은 아닙니다. 직접 실행해 보세요.", exact=exact)
    return incorrect("Not what BCELoss reports. Run F.binary_cross_entropy(torch.sigmoid(x), y) for x = 30, y = 0.",
                     "BCELoss가 보고하는 값이 아닙니다. x = 30, y = 0으로 F.binary_cross_entropy(torch.sigmoid(x), y)를 실행해 보세요.")


@exercise(takes_number=True)
def sigmoid_one_float32(answer):
    """The smallest float32 x > 0 with torch.sigmoid(x) == 1 exactly."""
    upper, _ = numerics.sigmoid_saturation(torch.float32)
    value = answer  # a float: @exercise(takes_number=True) converted or refused it
    if math.isnan(value):
        return invalid("nan is not a logit: give a number such as 16.6.", "nan은 로짓이 아닙니다. 16.6 같은 숫자를 넣으세요.")
    rounded = torch.tensor(float(value), dtype=torch.float32).item()
    if rounded == upper:
        return correct("Correct: from x = {upper!r}, float32 sigmoid(x) is exactly 1.",
                       "정답입니다: x = {upper!r}부터 float32 sigmoid(x)는 정확히 1입니다.", upper=upper)
    if torch.sigmoid(torch.tensor(rounded)).item() == 1.0:
        return incorrect("sigmoid({value!r}) is 1, but a smaller x also gives 1. Go lower.",
                         "sigmoid({value!r})은(는) 1이지만, 더 작은 x에서도 1이 됩니다. 더 낮춰 보세요.", value=rounded)
    return incorrect("sigmoid({value!r}) is still below 1. Go higher (bisection helps: numerics.find_boundary).",
                     "sigmoid({value!r})은(는) 아직 1보다 작습니다. 더 높여 보세요 (이분법: numerics.find_boundary).", value=rounded)
