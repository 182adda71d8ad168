"""lossviz.numerics: every fact is checked by its defining property, not against a typed number."""
import math

import mpmath
import pytest
import torch

from lossviz import numerics

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_sigmoid_saturation_is_the_first_saturating_value(dtype):
    upper, lower = numerics.sigmoid_saturation(dtype)
    sig = lambda v: torch.sigmoid(torch.tensor([v], dtype=dtype)).item()
    assert sig(upper) == 1.0 and sig(numerics.next_toward(upper, 0.0, dtype)) < 1.0
    assert sig(lower) == 0.0 and sig(numerics.next_toward(lower, 0.0, dtype)) > 0.0
    assert upper > 0 > lower


def test_sigmoid_saturation_matches_the_rounding_argument():
    # float32 / float64: 1 + exp(-x) rounds to 1 once exp(-x) < eps / 2; exp(-x) overflows past log(max)
    for dtype in (torch.float32, torch.float64):
        info = torch.finfo(dtype)
        upper, lower = numerics.sigmoid_saturation(dtype)
        assert upper == pytest.approx(math.log(2 / info.eps), abs=1e-5)
        assert lower == pytest.approx(-math.log(info.max), abs=1e-4)


def test_find_boundary_in_both_directions():
    assert numerics.find_boundary(lambda t: t >= 1.5, 0.0, 10.0) == 1.5
    assert numerics.find_boundary(lambda t: t <= -2.25, 0.0, -10.0) == -2.25
    first = numerics.find_boundary(lambda t: t > 1.0, 0.0, 2.0, torch.float32)
    assert first == 1.0 + 2.0 ** -23  # the next float32 after 1


def test_torch_bce_with_logits_returns_exact_zero_from_a_boundary():
    zero = torch.zeros(1)
    boundary = numerics.find_boundary(
        lambda t: torch.nn.functional.binary_cross_entropy_with_logits(t, zero) == 0, 0.0, -1e4)
    assert -15 < boundary < -14  # the cancellation of (1 - y) x - log_sigmoid(x) for y = 0


def test_exact_bce_with_logits_special_values():
    x = torch.tensor([0.0, 0.0, 30.0, -30.0, 1e4])
    y = torch.tensor([0.0, 0.3, 1.0, 0.0, 0.0])
    exact = numerics.exact_bce_with_logits(x, y)
    assert exact[0].item() == math.log(2) and exact[1].item() == math.log(2)
    assert exact[2].item() == pytest.approx(math.exp(-30), rel=1e-13)  # log1p(e^-30)
    assert exact[3].item() == pytest.approx(math.exp(-30), rel=1e-13)
    assert exact[4].item() == 1e4


def test_exact_bce_with_logits_matches_float64_closed_form():
    x = torch.linspace(-30, 30, 301, dtype=torch.float64)
    y = torch.rand(301, dtype=torch.float64)
    pos_weight = torch.tensor([2.5], dtype=torch.float64)
    closed = -(pos_weight * y * torch.nn.functional.logsigmoid(x) + (1 - y) * torch.nn.functional.logsigmoid(-x))
    torch.testing.assert_close(numerics.exact_bce_with_logits(x, y, pos_weight), closed, rtol=1e-13, atol=1e-15)


def test_exact_split_carries_the_rounding_residual():
    x, y = torch.tensor([0.1], dtype=torch.float64), torch.tensor([0.3], dtype=torch.float64)
    hi, lo = numerics.exact_bce_with_logits(x, y, split=True)
    with mpmath.workdps(60):
        v = (1 - mpmath.mpf(0.3)) * mpmath.mpf(0.1) + mpmath.log1p(mpmath.exp(-mpmath.mpf(0.1)))
        assert abs((mpmath.mpf(hi.item()) + mpmath.mpf(lo.item())) - v) < mpmath.mpf(2) ** -100
    assert lo.item() != 0 and abs(lo.item()) <= math.ulp(hi.item()) / 2


def test_exact_grad_is_sigmoid_minus_y():
    x = torch.tensor([-3.0, 0.0, 2.0, 40.0])
    y = torch.tensor([1.0, 0.5, 0.0, 1.0])
    grad = numerics.exact_bce_with_logits_grad(x, y)
    torch.testing.assert_close(grad[:3], (torch.sigmoid(x.double()) - y.double())[:3])
    assert grad[3].item() == pytest.approx(-math.exp(-40), rel=1e-12)  # float64 sigmoid(40) - 1 is 0


def test_exact_cross_entropy():
    z = torch.randn(20, 5, dtype=torch.float64) * 4
    t = torch.randint(0, 5, (20,))
    expected = torch.nn.functional.cross_entropy(z, t, reduction="none")
    torch.testing.assert_close(numerics.exact_cross_entropy(z, t), expected, rtol=1e-12, atol=1e-14)
    smooth = torch.nn.functional.cross_entropy(z, t, reduction="none", label_smoothing=0.2)
    torch.testing.assert_close(numerics.exact_cross_entropy(z, t, 0.2), smooth, rtol=1e-12, atol=1e-14)
    probabilities = torch.softmax(torch.randn(20, 5, dtype=torch.float64), 1)
    torch.testing.assert_close(numerics.exact_cross_entropy(z, probabilities),
                               torch.nn.functional.cross_entropy(z, probabilities, reduction="none"))


def test_exact_cross_entropy_confident_prediction():
    value = numerics.exact_cross_entropy(torch.tensor([17.0, 0.0, -1.0]), torch.tensor(0))
    assert value.item() == pytest.approx(math.log1p(math.exp(-17) + math.exp(-18)), rel=1e-14)


def test_ulp_sizes():
    assert numerics.ulp(torch.tensor([1.0]), torch.float32).item() == 2.0 ** -23
    assert numerics.ulp(torch.tensor([1.5]), torch.float16).item() == 2.0 ** -10
    assert numerics.ulp(torch.tensor([0.0]), torch.float32).item() == 2.0 ** -149
    assert numerics.ulp(torch.tensor([1e-45]), torch.float32).item() == 2.0 ** -149
    assert numerics.ulp(torch.tensor([1.0]), torch.bfloat16).item() == 2.0 ** -7


def test_ulp_error_counts_steps_and_failures():
    exact = torch.tensor([1.0, 1.0, 1.0, float("inf"), 2.0], dtype=torch.float64)
    approx = torch.tensor([1.0, 1.0 + 2 ** -23, 1.0 + 3 * 2 ** -23, float("inf"), float("nan")])
    assert numerics.ulp_error(approx, exact).tolist() == [0.0, 1.0, 3.0, 0.0, math.inf]
    assert numerics.ulp_error(torch.tensor([float("inf")]), torch.tensor([5.0], dtype=torch.float64)).item() == math.inf
