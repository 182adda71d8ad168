"""Second derivatives and forward-mode AD of every stable loss, in float64.

gradcheck compares the analytic gradient (and, with check_forward_ad, the jvp) to finite
differences; gradgradcheck does the same for the gradient of the gradient, both reverse-over-reverse
and forward-over-reverse. Every argument lossviz differentiates is in play: weight, pos_weight,
soft targets, label_smoothing, ignore_index, every reduction.
"""
import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck, gradgradcheck

from lossviz import stable

REDUCTIONS = ["none", "mean", "sum"]
f64 = torch.float64


@pytest.fixture(autouse=True)
def seed():
    torch.manual_seed(0)


def leaf(t):
    return t.to(f64).requires_grad_()


def check_both(fn, *inputs):
    assert gradcheck(fn, inputs, check_forward_ad=True)
    assert gradgradcheck(fn, inputs, check_fwd_over_rev=True, check_rev_over_rev=True)


@pytest.mark.parametrize("reduction,smoothing,ignore,weighted", [
    ("none", 0.2, True, True), ("mean", 0.2, True, True), ("sum", 0.2, False, True),
    ("mean", 0.0, True, True), ("sum", 0.0, False, False), ("mean", 0.2, False, False)])
def test_cross_entropy_class_indices(reduction, smoothing, ignore, weighted):
    z = leaf(torch.randn(5, 4))
    target = torch.tensor([0, 1, 2, 3, 1])
    if ignore:
        target[1] = -100
    inputs = (z, leaf(torch.rand(4) + 0.5)) if weighted else (z,)

    def loss(z, weight=None):
        return stable.cross_entropy(z, target, weight=weight, reduction=reduction, label_smoothing=smoothing)

    check_both(loss, *inputs)


def test_cross_entropy_spatial_and_unbatched():
    z = leaf(torch.randn(2, 3, 2, 2))
    target = torch.randint(0, 3, (2, 2, 2))
    check_both(lambda z, w: stable.cross_entropy(z, target, weight=w, label_smoothing=0.1), z, leaf(torch.rand(3) + 0.5))
    check_both(lambda z: stable.cross_entropy(z, torch.tensor(2), reduction="none"), leaf(torch.randn(4)))


@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_cross_entropy_probability_targets(reduction):
    z = leaf(torch.randn(3, 4, 2))
    t = leaf(torch.softmax(torch.randn(3, 4, 2), 1))
    check_both(lambda z, t, w: stable.cross_entropy(z, t, weight=w, reduction=reduction, label_smoothing=0.1),
               z, t, leaf(torch.rand(4) + 0.5))


@pytest.mark.parametrize("reduction,with_pos_weight", [("none", True), ("mean", True), ("sum", False), ("mean", False)])
def test_bce_with_logits(reduction, with_pos_weight):
    x, y = leaf(torch.randn(4, 3) * 3), leaf(torch.rand(4, 3))
    weight = leaf(torch.rand(4, 1) + 0.5)
    if with_pos_weight:
        check_both(lambda x, y, w, p: stable.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=p,
                                                                                reduction=reduction),
                   x, y, weight, leaf(torch.rand(3) * 3))
    else:
        check_both(lambda x, y, w: stable.binary_cross_entropy_with_logits(x, y, weight=w, reduction=reduction),
                   x, y, weight)


@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_bce_on_probabilities(reduction):
    p, y = leaf(torch.rand(4, 3) * 0.8 + 0.1), leaf(torch.rand(4, 3))
    check_both(lambda p, y, w: stable.binary_cross_entropy(p, y, weight=w, reduction=reduction),
               p, y, leaf(torch.rand(4, 3) + 0.5))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse(reduction):
    a, b = leaf(torch.randn(4, 3)), leaf(torch.randn(4, 3))
    check_both(lambda a, b, w: stable.mse_loss(a, b, reduction=reduction, weight=w), a, b, leaf(torch.rand(4, 3) + 0.5))


# --- the symptoms the issue reported: a gradient penalty, a Hessian-vector product -----------------

def gradient_penalty(fn, z, *args, **kwargs):
    z = z.detach().clone().requires_grad_()
    (grad,) = torch.autograd.grad(fn(z, *args, **kwargs), z, create_graph=True)
    (second,) = torch.autograd.grad(grad.square().sum(), z)
    return second


@pytest.mark.parametrize("name,args,kwargs", [
    ("cross_entropy", (torch.tensor([0, 2, 1, -100]),), dict(label_smoothing=0.1)),
    ("cross_entropy", (torch.tensor([0, 2, 1, 1]),), dict(weight=torch.tensor([1.0, 2.0, 0.5], dtype=f64))),
    ("mse_loss", (torch.randn(4, 3, dtype=f64),), {}),
    ("binary_cross_entropy_with_logits", (torch.rand(4, 3, dtype=f64),), {}),
    ("binary_cross_entropy_with_logits", (torch.rand(4, 3, dtype=f64),), dict(pos_weight=torch.tensor([1.0, 3.0, 0.5], dtype=f64))),
])
def test_gradient_penalty_matches_torch(name, args, kwargs):
    z = torch.randn(4, 3, dtype=f64) * 2
    ours = gradient_penalty(getattr(stable, name), z, *args, **kwargs)
    torchs = gradient_penalty(getattr(F, name), z, *args, **kwargs)
    torch.testing.assert_close(ours, torchs)


def test_hessian_vector_product_of_cross_entropy():
    z = torch.randn(3, 5, dtype=f64)
    target, v = torch.tensor([1, 0, 4]), torch.randn(3, 5, dtype=f64)
    _, ours = torch.autograd.functional.hvp(lambda z: stable.cross_entropy(z, target), z, v)
    _, torchs = torch.autograd.functional.hvp(lambda z: F.cross_entropy(z, target), z, v)
    torch.testing.assert_close(ours, torchs)


def test_double_backward_in_float32_needs_no_in_place_change_to_a_saved_tensor():
    # the old backward did torch.sigmoid(x).sub_(y) and failed with "modified by an inplace operation"
    x, y = torch.randn(6, requires_grad=True), torch.rand(6)
    (grad,) = torch.autograd.grad(stable.binary_cross_entropy_with_logits(x, y), x, create_graph=True)
    grad.sum().backward()
    s = torch.sigmoid(x.detach())
    torch.testing.assert_close(x.grad, s * (1 - s) / 6)
