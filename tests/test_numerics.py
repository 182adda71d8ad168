"""lossviz.numerics: every fact is checked by its defining property, not against a typed number."""
import math

import mpmath
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- exact for any finite float64: against independent mpmath at 8000 bits -------------------------
# 8000 bits hold every float64 sum exactly (exponents span 2^1024 to 2^-1074) with thousands of bits
# left for cancellation, so the textbook formulas evaluated there are the truth to compare with.

REFERENCE_BITS = 8000


def reference_cross_entropy(row, probabilities):
    with mpmath.workprec(REFERENCE_BITS):
        z = [mpmath.mpf(v) for v in row]
        top = max(z)
        log_norm = top + mpmath.log(mpmath.fsum(mpmath.exp(v - top) for v in z))
        return mpmath.fsum(mpmath.mpf(t) * (log_norm - v) for t, v in zip(probabilities, z))


def reference_bce(x, y, weight=1.0):
    with mpmath.workprec(REFERENCE_BITS):
        x, y, weight = mpmath.mpf(x), mpmath.mpf(y), mpmath.mpf(weight)
        log_sigmoid = -mpmath.log1p(mpmath.exp(-x)) if x > 0 else x - mpmath.log1p(mpmath.exp(x))
        log_one_minus = -x + log_sigmoid
        return -(weight * y * log_sigmoid + (1 - y) * log_one_minus)


def assert_correctly_rounded(value: float, truth):
    """``value`` is within half a float64 ULP of ``truth`` (0 where truth is below 2^-1075)."""
    with mpmath.workprec(REFERENCE_BITS):
        if value == 0:
            assert abs(truth) <= mpmath.ldexp(1, -1075), (value, truth)
            return
        if math.isinf(value):  # rounds beyond the largest float64 (2^1024 - 2^970) plus half its ULP
            assert value * truth > 0 and abs(truth) >= mpmath.ldexp(2 ** 54 - 1, 1024 - 54), (value, truth)
            return
        error = abs(mpmath.mpf(value) - truth)
        assert error <= mpmath.mpf(math.ulp(value)) / 2 * (1 + mpmath.mpf(2) ** -60), (value, mpmath.nstr(truth, 20))


def float64(values):
    return torch.tensor(values, dtype=torch.float64)


@pytest.mark.parametrize("row, target, truth", [
    ([17.0, -104.0], 0, "log1p(exp(-121))"),  # 2.82e-53: the sum 1 + e^-121 would lose it
    ([1e300, 1e300], 0, "log(2)"),  # LSE = 1e300 + ln 2: ln 2 lost at 50 digits
    ([1e300, 1e300], 1, "log(2)"),
    ([1e300, -1e300], 1, "2e300"),
    ([1e-300, -1e-300], 0, "log1p(exp(-2e-300))"),
    ([7e307, -7e307], 1, "1.4e308"),  # a gap near float64's largest value
])
def test_exact_cross_entropy_at_any_scale(row, target, truth):
    value = numerics.exact_cross_entropy(float64([row]), torch.tensor([target])).item()
    assert_correctly_rounded(value, reference_cross_entropy(row, [float(k == target) for k in range(len(row))]))
    with mpmath.workprec(200):
        assert value == pytest.approx(float(mpmath.mpf(eval(truth, vars(mpmath)))), rel=1e-15)


def random_float64(generator, shape, lowest=-300, highest=300):
    """Signed mantissas times 10^k with k spread over float64's range: huge gaps, tiny ones, both."""
    mantissa = torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1
    exponent = torch.randint(lowest, highest + 1, shape, generator=generator).to(torch.float64)
    return mantissa * torch.pow(torch.tensor(10.0, dtype=torch.float64), exponent)


def test_exact_cross_entropy_random_logits_over_float64s_range():
    generator = torch.Generator().manual_seed(12)
    z = random_float64(generator, (24, 4))
    target = torch.randint(0, 4, (24,), generator=generator)
    # confident and right at 1e17 (float64 spacing 16): gaps of 64 to 160 leave a loss of e^-64 to
    # e^-160, which LSE - z_y at 50 digits (166 bits) rounds away against 1e17 (2^57)
    z[:8, 0] = 1e17 + 16.0 * torch.arange(8, dtype=torch.float64)
    z[:8, 1:] = z[:8, :1] - 16.0 * torch.randint(4, 11, (8, 3), generator=generator).to(torch.float64)
    target[:8] = 0
    z[8:12] = z[8:12] * 1e-300  # subnormal logits
    for smoothing in (0.0, 0.1):  # 0.1 / 4 classes is not a binary fraction: taken exactly anyway
        hi, lo = numerics.exact_cross_entropy(z, target, smoothing, split=True)
        for i in range(len(z)):
            t = [(1 - smoothing) * (k == target[i].item()) + smoothing / 4 for k in range(4)]
            with mpmath.workprec(REFERENCE_BITS):
                t = [(1 - mpmath.mpf(smoothing)) * (k == target[i].item()) + mpmath.mpf(smoothing) / 4
                     for k in range(4)]
            truth = reference_cross_entropy(z[i].tolist(), t)
            assert_correctly_rounded(hi[i].item(), truth)
            if abs(truth) > mpmath.ldexp(1, -900):  # hi + lo carries ~106 bits where lo is normal
                with mpmath.workprec(REFERENCE_BITS):
                    assert abs(mpmath.mpf(hi[i].item()) + mpmath.mpf(lo[i].item()) - truth) <= abs(truth) * mpmath.mpf(2) ** -100


def test_exact_cross_entropy_probability_targets_that_cancel():
    # negative "probabilities" (torch defines the sum for any target) make the terms cancel
    z = float64([[3.0, 0.0, -2.0], [1e200, 1.0, 0.0], [40.0, 39.0, 0.0]])
    t = float64([[1.0, -2.0, 1.5], [1.0, -1.0, 0.0], [1.0, -1.0, 1e-300]])
    exact = numerics.exact_cross_entropy(z, t)
    for i in range(3):
        assert_correctly_rounded(exact[i].item(), reference_cross_entropy(z[i].tolist(), t[i].tolist()))


@pytest.mark.parametrize("x, y, weight", [
    (1e300, 0.0, 1.0), (1e300, 0.5, 1.0), (-1e300, 0.5, 1.0), (1e300, 1.0, 1.0),
    (-30.0, 1e-300, 1.0),  # 1 - y needs a thousand bits
    (1e-300, 0.0, 1.0), (5e-324, 1.0, 1.0), (0.0, 0.25, 3.0),
    (700.0, 1.0, 1.0), (744.0, 1.0, 1.0), (745.1, 1.0, 1.0), (720.5, 1.0, 1e-5),  # subnormal losses
    (3.0, 2.0, 1.0), (1.0, 1.0, -1.0), (-2.0, 0.5, -3.0), (1e-20, 2.0, 1e20),  # targets/weights that cancel
])
def test_exact_bce_with_logits_at_any_scale(x, y, weight):
    hi, lo = numerics.exact_bce_with_logits(float64([x]), float64([y]), float64([weight]), split=True)
    truth = reference_bce(x, y, weight)
    assert_correctly_rounded(hi.item(), truth)
    if abs(truth) > mpmath.ldexp(1, -900):
        with mpmath.workprec(REFERENCE_BITS):
            assert abs(mpmath.mpf(hi.item()) + mpmath.mpf(lo.item()) - truth) <= abs(truth) * mpmath.mpf(2) ** -100


def test_exact_bce_with_logits_where_the_terms_cancel():
    # y = 2 and pos_weight w: loss = -x + (2w - 1) log1p(e^-x) for x > 0. With w the float64 nearest
    # to the w that cancels, the two terms (about 40) agree to about 53 bits.
    x = 40.0
    with mpmath.workprec(400):
        w = float((mpmath.mpf(x) / mpmath.log1p(mpmath.exp(-mpmath.mpf(x))) + 1) / 2)
    value = numerics.exact_bce_with_logits(float64([x]), float64([2.0]), float64([w])).item()
    truth = reference_bce(x, 2.0, w)
    assert_correctly_rounded(value, truth)
    assert 0 < abs(value) < 1e-12


def test_exact_bce_with_logits_grad_where_the_terms_cancel():
    x = float64([1e-300, -1e-300, 2.0 ** -80, 0.0, 5e-324, 1e300, -1e300])
    y = float64([0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 0.0])
    grad = numerics.exact_bce_with_logits_grad(x, y)
    for xi, yi, gi in zip(x.tolist(), y.tolist(), grad.tolist()):
        with mpmath.workprec(REFERENCE_BITS):
            xi_ = mpmath.mpf(xi)
            truth = 1 / (1 + mpmath.exp(-xi_)) - mpmath.mpf(yi)
        assert_correctly_rounded(gi, truth)
    assert grad[0].item() == pytest.approx(2.5e-301, rel=1e-15)


def test_exact_references_round_subnormal_losses_once():
    # log1p(e^-x) for x in [700, 746] crosses float64's subnormal range; rounding to 53 bits first and
    # then to the subnormal grid (mpmath's float()) would be off by one unit at some of these points
    x = torch.linspace(700, 746, 4001, dtype=torch.float64)
    exact = numerics.exact_bce_with_logits(x, torch.ones_like(x))
    with mpmath.workprec(300):
        for xi, value in zip(x.tolist()[::40], exact.tolist()[::40]):
            units = mpmath.nint(mpmath.log1p(mpmath.exp(-mpmath.mpf(xi))) * mpmath.ldexp(1, 1074))
            if units < 2 ** 52:
                assert value == math.ldexp(int(units), -1074), xi


def test_exact_references_keep_nan_and_ieee_limits():
    nan, inf = math.nan, math.inf
    bce = numerics.exact_bce_with_logits(float64([nan, 0.0, inf, -inf]), float64([0.0, nan, 0.0, 1.0]))
    assert math.isnan(bce[0]) and math.isnan(bce[1]) and bce[2].item() == inf and bce[3].item() == inf
    ce = numerics.exact_cross_entropy(float64([[nan, 0.0], [0.0, -inf], [inf, 0.0]]), torch.tensor([0, 1, 1]))
    assert math.isnan(ce[0]) and ce[1].item() == inf and math.isnan(ce[2])  # inf - inf, as in float64


def test_exact_cross_entropy_arguments():
    with pytest.raises(ValueError, match="'input' must hold at least one class"):
        numerics.exact_cross_entropy(torch.empty(2, 0), torch.empty(2, 0))
    assert numerics.exact_cross_entropy(torch.empty(0, 3), torch.empty(0, dtype=torch.long)).shape == (0,)
    single = numerics.exact_cross_entropy(float64([[5.0]]), torch.tensor([0], dtype=torch.uint8))
    assert single.tolist() == [0.0]  # one class: log_softmax is 0
    with pytest.raises(ValueError, match="class indices in \\[0, 2\\]"):
        numerics.exact_cross_entropy(torch.zeros(1, 3), torch.tensor([3]))


def test_docstring_examples_print_what_they_say():
    import doctest

    results = doctest.testmod(numerics, extraglobs={"torch": torch, **vars(numerics)})
    assert results.attempted >= 6 and results.failed == 0


def test_helper_arguments_are_named():
    with pytest.raises(ValueError, match="next_toward\\(\\): argument 'value' must be a finite number"):
        numerics.next_toward(math.nan, 1.0)
    with pytest.raises(ValueError, match="argument 'direction' must differ from 'value'"):
        numerics.next_toward(1.0, 1.0)
    with pytest.raises(TypeError, match="argument 'dtype'"):
        numerics.next_toward(1.0, 2.0, torch.int32)
    assert numerics.next_toward(1.0, -5.0, torch.float16) == 1.0 - 2.0 ** -11
    with pytest.raises(ValueError, match="'exact' must be a float64 tensor or a \\(hi, lo\\) pair, got a tuple of 3"):
        numerics.ulp_error(torch.ones(2), (torch.ones(2, dtype=torch.float64),) * 3)
    with pytest.raises(TypeError, match="'exact' must be float64"):
        numerics.ulp_error(torch.ones(2), torch.ones(2))


# any finite float64, from subnormals to 1.8e308, in every argument
any_float64 = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(deadline=None, max_examples=150, derandomize=True)
@given(any_float64, any_float64, any_float64)
def test_exact_bce_with_logits_for_any_float64(x, y, weight):
    value = numerics.exact_bce_with_logits(float64([x]), float64([y]), float64([weight])).item()
    assert_correctly_rounded(value, reference_bce(x, y, weight))


@settings(deadline=None, max_examples=100, derandomize=True)
@given(st.lists(any_float64, min_size=1, max_size=4), st.data())
def test_exact_cross_entropy_for_any_float64(row, data):
    target = data.draw(st.integers(0, len(row) - 1))
    value = numerics.exact_cross_entropy(float64([row]), torch.tensor([target])).item()
    assert_correctly_rounded(value, reference_cross_entropy(row, [float(k == target) for k in range(len(row))]))


@settings(deadline=None, max_examples=100, derandomize=True)
@given(any_float64, any_float64, any_float64)
def test_exact_bce_with_logits_grad_for_any_float64(x, y, weight):
    value = numerics.exact_bce_with_logits_grad(float64([x]), float64([y]), float64([weight])).item()
    with mpmath.workprec(REFERENCE_BITS):
        x_, y_, weight_ = mpmath.mpf(x), mpmath.mpf(y), mpmath.mpf(weight)
        truth = (weight_ * y_ + 1 - y_) / (1 + mpmath.exp(-x_)) - weight_ * y_  # the textbook form
    assert_correctly_rounded(value, truth)
