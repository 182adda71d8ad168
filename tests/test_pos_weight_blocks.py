"""BCE with logits and pos_weight as lossviz computes it for large inputs: in blocks, labels that are
all 0 or 1 through one softplus, soft labels through the general lerp, and (when the logits require
grad) the gradient computed in the forward and handed to the backward.

The blocks are made tiny here (16 elements a thread) so that inputs of a few thousand elements
cross many of them, with a short last one; every result is checked against float64 formulas that
do not cancel (no lossviz code in them).
"""
from __future__ import annotations

import pytest
import torch

from lossviz import _bce, stable
from lossviz import _validate as check
from lossviz.errors import LossvizValueError

EPS = torch.finfo(torch.float32).eps  # 2^-23


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    monkeypatch.setattr(_bce, "_BLOCK_CPU", 16)


def reference(x, y, weight, pos_weight, reduction):
    """The loss in float64, (1 - y) max(x, 0) + p y max(-x, 0) + (1 - y + p y) log1p(exp(-|x|)),
    and its float64 input (for the gradient)."""
    x = x.detach().double().requires_grad_()
    y, p = y.double(), pos_weight.double()
    log_term = torch.log1p(torch.exp(-x.abs()))
    loss = (1 - y) * x.clamp_min(0) + p * y * (-x).clamp_min(0) + ((1 - y) + p * y) * log_term
    if weight is not None:
        loss = loss * weight.double()
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction], x


def ulps(got, exact):
    """|got - exact| in units of the last place of float32 at the exact value (0-d or elementwise)."""
    rounded = exact.float().abs()
    ulp = (torch.nextafter(rounded, torch.tensor(float("inf"))) - rounded).double()
    return ((got.double() - exact).abs() / ulp).max().item()


def labels(kind, shape, generator):
    hard = (torch.rand(shape, generator=generator) > 0.5).float()
    if kind == "hard":
        return hard
    soft = torch.rand(shape, generator=generator)
    if kind == "soft":
        return soft
    mixed = hard.clone()  # a few soft rows: their blocks take the general path, the rest the short one
    mixed[::97] = soft[::97]
    return mixed


CASES = [  # (shape of the logits, shape of pos_weight, shape of weight or None)
    ((1000, 7), (7,), None),
    ((1000, 7), (7,), (7,)),
    ((333, 3), (1, 3), (333, 3)),
    ((2049,), (1,), None),
    ((250, 4), (250, 4), None),
]


@pytest.mark.parametrize("kind", ["hard", "soft", "mixed"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shapes", CASES, ids=str)
def test_loss_and_gradient_against_float64(shapes, reduction, kind):
    shape, pos_weight_shape, weight_shape = shapes
    generator = torch.Generator().manual_seed(len(shape) + shape[0] + len(reduction))
    x = torch.randn(shape, generator=generator) * 6
    y = labels(kind, shape, generator)
    pos_weight = torch.rand(pos_weight_shape, generator=generator) * 4
    weight = None if weight_shape is None else torch.rand(weight_shape, generator=generator) + 0.5
    logits = x.clone().requires_grad_()
    loss = stable.binary_cross_entropy_with_logits(logits, y, weight=weight, pos_weight=pos_weight,
                                                   reduction=reduction)
    assert type(loss.grad_fn).__name__ == "BCEWithLogitsGradientAheadBackward"
    exact, wide_x = reference(x, y, weight, pos_weight, reduction)
    assert ulps(loss, exact.detach()) <= 0.5 + 1e-6  # each element (or the sum) rounded once

    upstream = torch.rand(loss.shape, generator=generator) + 0.5
    loss.backward(upstream)
    exact.backward(upstream.double())
    got, want = logits.grad.double(), wide_x.grad
    if kind == "hard":  # w lerp(c, -c p, y) sigma(+-x): a few roundings of every element
        assert ((got - want).abs() / want.abs()).max().item() <= 3 * EPS
    else:  # the lerp form has errors on the scale of its ends (the gradient crosses 0 in between)
        scale = upstream.max() * (1 if weight is None else weight.max()) * max(1.0, pos_weight.max().item())
        scale = scale / (x.numel() if reduction == "mean" else 1)
        assert (got - want).abs().max().item() <= 2 * EPS * scale.item()


def test_the_same_loss_without_grad():
    """Without a gradient to compute the same blocks give the same loss (labels checked per block)."""
    generator = torch.Generator().manual_seed(1)
    x, pos_weight = torch.randn(1000, 7, generator=generator) * 6, torch.rand(7, generator=generator) * 4
    for kind in ("hard", "soft", "mixed"):
        y = labels(kind, x.shape, generator)
        exact, _ = reference(x, y, None, pos_weight, "none")
        loss = stable.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight, reduction="none")
        assert loss.grad_fn is None
        assert ulps(loss, exact) <= 0.5 + 1e-6
        with_grad = stable.binary_cross_entropy_with_logits(x.clone().requires_grad_(), y, pos_weight=pos_weight,
                                                            reduction="none")
        assert torch.equal(with_grad.detach(), loss)


def test_gradient_ahead_only_where_it_can_be_used():
    x, y, pos_weight = torch.randn(1000, 7).requires_grad_(), (torch.rand(1000, 7) > 0.5).float(), torch.rand(7)
    name = lambda loss: type(loss.grad_fn).__name__  # noqa: E731
    assert name(stable.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight)) == \
        "BCEWithLogitsGradientAheadBackward"
    assert name(stable.binary_cross_entropy_with_logits(x, y)) != "BCEWithLogitsGradientAheadBackward"
    small = x[:2]  # one block: torch's few ops, no loop
    assert name(stable.binary_cross_entropy_with_logits(small, y[:2], pos_weight=pos_weight)) == "BCEWithLogitsBackward"
    with torch.no_grad():
        assert stable.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight).grad_fn is None
    with torch.autograd.forward_ad.dual_level():
        assert name(stable.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight)) == "BCEWithLogitsBackward"


def test_upstream_gradient_second_backward_and_second_derivative():
    generator = torch.Generator().manual_seed(2)
    x = (torch.randn(1000, 7, generator=generator) * 3).requires_grad_()
    y, pos_weight = (torch.rand(1000, 7, generator=generator) > 0.5).float(), torch.rand(7, generator=generator) * 4

    loss = stable.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight)
    (first,) = torch.autograd.grad(loss, x, retain_graph=True)
    # recomputed from the saved inputs (the kept gradient is spent), in the lerp form whose error is
    # on the scale of its ends (sigma(x) - 1 rounds where sigma(x) is near 1)
    scale = 2 * EPS * max(1.0, pos_weight.max().item()) / x.numel()
    (again,) = torch.autograd.grad(loss * 3, x, retain_graph=True)
    torch.testing.assert_close(again, 3 * first, rtol=0, atol=3 * scale)

    (with_graph,) = torch.autograd.grad(loss, x, create_graph=True)
    torch.testing.assert_close(with_graph, first, rtol=0, atol=scale)
    (second,) = torch.autograd.grad(with_graph.sum(), x)
    sigma = torch.sigmoid(x.detach().double())
    exact = (pos_weight * y + 1 - y).double() * sigma * (1 - sigma) / x.numel()
    # through sigmoid's float32 backward, sigma (1 - sigma): relative error where sigma is near 1
    torch.testing.assert_close(second.double(), exact, rtol=0, atol=scale)


def test_targets_that_require_grad():
    """Learned soft labels (distillation): the targets' gradient, beside the kept one for the logits."""
    generator = torch.Generator().manual_seed(7)
    x, y = torch.randn(1000, 7, generator=generator) * 3, torch.rand(1000, 7, generator=generator)
    pos_weight = torch.rand(7, generator=generator) * 4
    logits, targets = x.clone().requires_grad_(), y.clone().requires_grad_()
    loss = stable.binary_cross_entropy_with_logits(logits, targets, pos_weight=pos_weight)
    assert type(loss.grad_fn).__name__ == "BCEWithLogitsGradientAheadBackward"
    loss.backward()
    wide_y = y.double().requires_grad_()
    exact, wide_x = reference(x, wide_y, None, pos_weight, "mean")
    exact.backward()
    scale = 2 * EPS * max(1.0, pos_weight.max().item()) / x.numel()
    torch.testing.assert_close(logits.grad.double(), wide_x.grad, rtol=0, atol=scale)
    torch.testing.assert_close(targets.grad.double(), wide_y.grad, rtol=0, atol=2 * scale * x.abs().max().item())


def test_weight_and_pos_weight_gradients_as_without_the_kept_gradient():
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(1000, 7, generator=generator) * 3
    y = (torch.rand(1000, 7, generator=generator) > 0.5).float()
    grads = []
    for logits_need_grad in (True, False):  # ahead, and BCEWithLogits
        weight = (torch.rand(7, generator=torch.Generator().manual_seed(4)) + 0.5).requires_grad_()
        pos_weight = (torch.rand(7, generator=torch.Generator().manual_seed(5)) * 4).requires_grad_()
        logits = x.clone().requires_grad_(logits_need_grad)
        loss = stable.binary_cross_entropy_with_logits(logits, y, weight=weight, pos_weight=pos_weight)
        loss.backward()
        grads.append((weight.grad, pos_weight.grad))
    torch.testing.assert_close(grads[0], grads[1], rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_extreme_logits_transposed_input_and_float64(dtype):
    """Logits near float32's limit (where 2x overflows) keep their exact loss; a non-contiguous
    input and a float64 one take the same path."""
    generator = torch.Generator().manual_seed(6)
    x = torch.randn(7, 1000, generator=generator, dtype=dtype).mul_(6).t()  # (1000, 7), transposed
    x[::50] = torch.tensor([3e38, -3e38, 1e30, -1e30, 88.0, -104.0, 0.5], dtype=dtype)  # not 0: a kink of the reference
    y = (torch.rand(1000, 7, generator=generator) > 0.5).to(dtype)
    pos_weight = torch.rand(7, generator=generator, dtype=dtype) + 0.5
    logits = x.clone().requires_grad_()
    loss = stable.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight, reduction="none")
    exact, wide_x = reference(x, y, None, pos_weight, "none")
    if dtype == torch.float32:
        assert ulps(loss, exact.detach()) <= 0.5 + 1e-6
    else:
        torch.testing.assert_close(loss, exact.detach(), rtol=4e-16, atol=0)
    loss.sum().backward()
    exact.sum().backward()
    underflow = torch.finfo(dtype).smallest_normal * torch.finfo(dtype).eps  # sigma(-104) in float32
    torch.testing.assert_close(logits.grad.double(), wide_x.grad, rtol=3 * torch.finfo(dtype).eps, atol=underflow)


def test_targets_outside_the_unit_interval_are_refused_on_every_path():
    x, pos_weight = torch.randn(1000, 7), torch.rand(7)
    y = (torch.rand(1000, 7) > 0.5).float()
    y[500, 3] = 1.5
    for logits in (x, x.clone().requires_grad_()):
        with pytest.raises(LossvizValueError, match=r"'target' .* must lie in \[0, 1\], got values from 0 to 1.5"):
            stable.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight)
    y[500, 3] = float("nan")  # NaN is data: it propagates
    loss = stable.binary_cross_entropy_with_logits(x.clone().requires_grad_(), y, pos_weight=pos_weight)
    assert torch.isnan(loss)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_unit_interval_tells_hard_labels(dtype):
    """The check's pass over y - y*y says whether every label is exactly 0 or 1, also for labels
    one float away from them."""
    tiny = torch.finfo(dtype).smallest_normal * torch.finfo(dtype).eps  # the smallest subnormal
    below_one = 1 - torch.finfo(dtype).eps / 2
    hard = torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=dtype)
    assert check.unit_interval("f", "target", hard, "labels", scratch=torch.empty_like(hard))
    for value in (tiny, below_one, 0.5, 0.25):
        soft = hard.clone()
        soft[2] = value
        assert soft[2] != 0 and soft[2] != 1
        assert not check.unit_interval("f", "target", soft, "labels", scratch=torch.empty_like(soft))
    assert not check.unit_interval("f", "target", hard, "labels")  # without scratch it does not tell
