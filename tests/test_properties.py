"""Property tests (hypothesis): any float32 logit, label and weight, against the exact reference."""
import math
import os

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lossviz import numerics, stable
from lossviz._exact_cache import cached

f32 = dict(width=32, allow_nan=False, allow_infinity=False)
logits = st.floats(min_value=-1e4, max_value=1e4, **f32)
labels = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(min_value=0.0, max_value=1.0, **f32))
# pos_weight labels: mostly 0 and 1 (its use), some soft (the float64 path must not cancel there)
pos_weight_labels = st.one_of(st.sampled_from([0.0, 1.0]), st.sampled_from([0.0, 1.0]),
                              st.floats(min_value=0.0, max_value=1.0, **f32))
settings.register_profile("lossviz", deadline=None, max_examples=200, derandomize=True)
# LOSSVIZ_HYPOTHESIS=thorough: many more random examples, a fresh seed each run (a local check)
settings.register_profile("thorough", deadline=None, max_examples=5000, derandomize=False)
settings.load_profile(os.environ.get("LOSSVIZ_HYPOTHESIS", "lossviz"))


@given(st.lists(st.tuples(logits, labels), min_size=1, max_size=20))
def test_bce_with_logits_within_2_ulp(pairs):
    x = torch.tensor([p[0] for p in pairs])
    y = torch.tensor([p[1] for p in pairs])
    loss = stable.binary_cross_entropy_with_logits(x, y, reduction="none")
    assert numerics.ulp_error(loss, numerics.exact_bce_with_logits(x, y)).max().item() <= 2.0


@given(st.lists(st.tuples(logits, pos_weight_labels), min_size=1, max_size=20),
       st.floats(min_value=0.015625, max_value=100.0, **f32))
def test_pos_weight_within_2_ulp(pairs, pos_weight):
    # In float32, pw * log1p(exp(-|x|)) would carry the log term's 1.5 ULP, and a pw that is not a
    # power of 2 moves the result within its binade, which can double that in ULPs (2.78); lossviz
    # computes this loss in float64 and rounds once (torch's own op: 4.5 to 150, 1.7e7 for y = 0).
    x = torch.tensor([p[0] for p in pairs])
    y = torch.tensor([p[1] for p in pairs])
    weight = torch.tensor([pos_weight])
    loss = stable.binary_cross_entropy_with_logits(x, y, pos_weight=weight, reduction="none")
    assert numerics.ulp_error(loss, numerics.exact_bce_with_logits(x, y, weight)).max().item() <= 2.0


@pytest.mark.parametrize("pos_weight", [0.03, 0.7, 1.4, 3.7])
def test_pos_weight_within_2_ulp_where_float32_is_not(pos_weight):
    # Random examples rarely land on the worst cases, so a dense grid of y = 1 holds them: a float32
    # computation is 2.04 to 2.11 ULP off here (that of lossviz before it moved to float64).
    x = torch.linspace(-20, 20, 8001)
    y = torch.ones_like(x)
    weight = torch.tensor([pos_weight])
    exact = cached(numerics.exact_bce_with_logits, x, y, weight)
    loss = stable.binary_cross_entropy_with_logits(x, y, pos_weight=weight, reduction="none")
    assert numerics.ulp_error(loss, exact).max().item() <= 2.0


@given(st.lists(st.tuples(logits, labels), min_size=1, max_size=20))
def test_gradient_is_sigmoid_minus_y_like_torch(pairs):
    x = torch.tensor([p[0] for p in pairs], requires_grad=True)
    y = torch.tensor([p[1] for p in pairs])
    stable.binary_cross_entropy_with_logits(x, y, reduction="sum").backward()
    ours = x.grad.clone()
    x.grad = None
    F.binary_cross_entropy_with_logits(x, y, reduction="sum").backward()
    assert torch.equal(ours, x.grad)


@given(st.integers(2, 8).flatmap(lambda k: st.tuples(
    st.lists(st.lists(st.floats(min_value=-1e3, max_value=1e3, **f32), min_size=k, max_size=k), min_size=1, max_size=8),
    st.integers(0, k - 1), st.sampled_from([0.0, 0.05, 0.3]))))
def test_cross_entropy_within_4_ulp(case):
    rows, target_class, smoothing = case
    z = torch.tensor(rows)
    target = torch.full((len(rows),), target_class)
    exact = numerics.exact_cross_entropy(z, target, smoothing)
    loss = stable.cross_entropy(z, target, reduction="none", label_smoothing=smoothing)
    assert numerics.ulp_error(loss, exact).max().item() <= 4.0


@given(st.floats(min_value=0.0, max_value=1.0, **f32), st.integers(2, 50))
def test_smoothing_conventions_agree_at_the_converted_epsilon(epsilon, classes):
    from lossviz import smoothed_targets

    target = torch.arange(classes) % classes
    blog = smoothed_targets(target, classes, epsilon * (classes - 1) / classes, convention="uniform_others",
                            dtype=torch.float64)
    ours = smoothed_targets(target, classes, epsilon, dtype=torch.float64)
    torch.testing.assert_close(blog, ours)
    assert math.isclose(ours.sum(1).max().item(), 1.0)
