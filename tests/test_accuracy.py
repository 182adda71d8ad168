"""The accuracy claims, on dense float32 grids, against exact (mpmath) references.

stable: <= 2 ULP for binary cross-entropy over x in [-1e4, 1e4], y in {0, 1, 0.3};
<= 4 ULP for cross-entropy, confident correct predictions included. And torch's own op really
loses what the notebooks say it loses (if a torch release fixes it, this fails and the notebooks'
prose must change).

The exact references of the big grids come from an on-disk cache (lossviz._exact_cache): keyed on
the grid's bytes, the source of lossviz/numerics.py (and _validate.py) and mpmath's version, so
any change that could change a reference recomputes it. LOSSVIZ_CACHE=off computes them afresh.
"""
import pytest
import torch
import torch.nn.functional as F

from lossviz import naive, numerics, stable
from lossviz._exact_cache import cached

LABELS = [0.0, 1.0, 0.3]


def grid():
    wide = torch.linspace(-1e4, 1e4, 40_001)
    # where the interesting things happen: saturation (16.6), torch's zero (-14.6), log1p vs log (12)
    fine = torch.linspace(-120, 120, 60_001)
    return torch.cat([wide, fine])


@pytest.fixture(scope="module")
def exact_by_label():
    x = grid()
    return x, {y: cached(numerics.exact_bce_with_logits, x, torch.full_like(x, y)) for y in LABELS}


@pytest.mark.parametrize("y", LABELS)
def test_stable_bce_with_logits_within_2_ulp_of_exact(exact_by_label, y):
    x, exact = exact_by_label
    target = torch.full_like(x, y)
    errors = numerics.ulp_error(stable.binary_cross_entropy_with_logits(x, target, reduction="none"), exact[y])
    assert errors.max().item() <= 2.0, x[errors.argmax()].item()


def test_torch_native_loses_all_accuracy_for_y0_x_negative(exact_by_label):
    x, exact = exact_by_label
    errors = numerics.ulp_error(F.binary_cross_entropy_with_logits(x, torch.zeros_like(x), reduction="none"), exact[0.0])
    assert errors.max().item() > 1e6
    assert errors[x > 0].max().item() <= 4


def test_log_without_log1p_loses_accuracy(exact_by_label):
    x, exact = exact_by_label
    for y in (0.0, 1.0):
        loss = naive.bce_with_logits_without_log1p(x, torch.full_like(x, y), reduction="none")
        assert numerics.ulp_error(loss, exact[y]).max().item() > 1e6


def test_float64_stable_agrees_with_mpmath_to_2_ulp():
    x = torch.cat([torch.linspace(-800, 800, 8001, dtype=torch.float64), torch.linspace(-40, 40, 8001, dtype=torch.float64)])
    for y in LABELS:
        target = torch.full_like(x, y)
        errors = numerics.ulp_error(stable.binary_cross_entropy_with_logits(x, target, reduction="none"),
                                    cached(numerics.exact_bce_with_logits, x, target, split=True))
        assert errors.max().item() <= 2.0


def test_stable_float32_on_every_3_million_point_grid():
    # 3.2M points is too many for mpmath in a test; the float64 result, proven within 2 float64 ULP
    # of mpmath above, is exact to 1e-9 float32 ULP, so it serves as the reference here.
    x = torch.linspace(-1e4, 1e4, 3_200_001)
    for y in LABELS:
        target = torch.full_like(x, y)
        reference = stable.binary_cross_entropy_with_logits(x.double(), target.double(), reduction="none")
        errors = numerics.ulp_error(stable.binary_cross_entropy_with_logits(x, target, reduction="none"), reference)
        assert errors.max().item() <= 2.0


def test_pos_weight_within_2_ulp():
    x = torch.linspace(-200, 200, 20_001)
    pos_weight = torch.tensor([3.0])
    for y in LABELS:
        target = torch.full_like(x, y)
        exact = cached(numerics.exact_bce_with_logits, x, target, pos_weight)
        loss = stable.binary_cross_entropy_with_logits(x, target, pos_weight=pos_weight, reduction="none")
        assert numerics.ulp_error(loss, exact).max().item() <= 2.0


def confident_rows():
    margins = torch.linspace(0, 100, 2001)
    return torch.stack([margins, torch.zeros_like(margins), torch.full_like(margins, -1.0)], 1)


def test_cross_entropy_confident_correct_within_4_ulp():
    z = confident_rows()
    target = torch.zeros(len(z), dtype=torch.long)
    exact = cached(numerics.exact_cross_entropy, z, target)
    errors = numerics.ulp_error(stable.cross_entropy(z, target, reduction="none"), exact)
    assert errors.max().item() <= 4.0
    torch_errors = numerics.ulp_error(F.cross_entropy(z, target, reduction="none"), exact)
    assert torch_errors.max().item() > 1e6  # torch returns exactly 0 from a margin of about 17


def test_cross_entropy_random_logits_within_4_ulp():
    generator = torch.Generator().manual_seed(1)
    for scale in (1.0, 10.0, 100.0, 1000.0):
        z = torch.randn(500, 6, generator=generator) * scale
        target = torch.randint(0, 6, (500,), generator=generator)
        for smoothing in (0.0, 0.1):
            exact = cached(numerics.exact_cross_entropy, z, target, smoothing)
            loss = stable.cross_entropy(z, target, reduction="none", label_smoothing=smoothing)
            assert numerics.ulp_error(loss, exact).max().item() <= 4.0, (scale, smoothing)


@pytest.mark.parametrize("scale", [2.0, 1e3, 1e20])
@pytest.mark.parametrize("how", ["weight", "pos_weight"])
def test_weighted_float32_bce_keeps_subnormal_losses(scale, how):
    # For |x| > 87.3 the unweighted float32 loss e^-|x| is subnormal: it has fewer than 24 bits, and
    # multiplying that by a large weight spreads its rounding error over many ULPs of the (normal)
    # weighted result (1.7e7 ULP at a weight of 1e20). The weighted loss is what must be accurate.
    x = torch.cat([torch.linspace(80, 110, 3001), -torch.linspace(80, 110, 3001)])
    y = (x > 0).to(x.dtype)  # the right label: the loss is the tiny e^-|x|
    factor = torch.tensor([scale])
    exact = cached(numerics.exact_bce_with_logits, x, y, factor if how == "pos_weight" else None)
    if how == "weight":
        exact = exact * factor.double()  # float64 product: 2^-53 relative, 1e-9 float32 ULP
        loss = stable.binary_cross_entropy_with_logits(x, y, weight=torch.full_like(x, scale), reduction="none")
    else:
        loss = stable.binary_cross_entropy_with_logits(x, y, pos_weight=factor, reduction="none")
    errors = numerics.ulp_error(loss, exact)
    assert errors.max().item() <= 2.0, (x[errors.argmax()].item(), errors.max().item())
