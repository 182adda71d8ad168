"""lossviz.stable and lossviz.naive against torch.nn.functional, argument by argument.

On ordinary values (|logit| < 10) all three must agree to float32 rounding, in the value and in
the gradient of every argument torch differentiates.
"""
import itertools

import pytest
import torch
import torch.nn.functional as F

from lossviz import naive, stable

REDUCTIONS = ["none", "mean", "sum"]
IMPLEMENTATIONS = [stable, naive]


def close(actual, expected, rtol=2e-6, atol=1e-6):
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=True)


def logits(shape, module):
    """Ordinary logits: stable must match torch to rounding on |x| < 10; the textbook form loses
    about 1e-4 of relative accuracy by |x| = 10 (1 - sigmoid(x) is quantised), so it gets |x| < 5."""
    bound = 9.0 if module is stable else 5.0
    return (torch.rand(shape) * 2 - 1) * bound


def grads(fn, *tensors):
    """Value and gradients of every tensor that requires grad, for fn(*tensors)."""
    copies = [t.detach().clone().requires_grad_(t.requires_grad) if isinstance(t, torch.Tensor) else t
              for t in tensors]
    out = fn(*copies)
    out.sum().backward()
    return out.detach(), [c.grad for c in copies if isinstance(c, torch.Tensor) and c.requires_grad]


@pytest.fixture(autouse=True)
def seed():
    torch.manual_seed(0)


# --- binary cross-entropy with logits -------------------------------------------------------------

SHAPES = [(7,), (5, 1), (4, 3), (2, 3, 4, 5)]


@pytest.mark.parametrize("module", IMPLEMENTATIONS, ids=["stable", "naive"])
@pytest.mark.parametrize("shape,reduction,weighted,soft", list(itertools.product(SHAPES, REDUCTIONS, [False, True], [False, True])))
def test_bce_with_logits_matches_torch(module, shape, reduction, weighted, soft):
    x = logits(shape, module)
    y = torch.rand(shape) if soft else (torch.rand(shape) > 0.5).float()
    weight = torch.rand(shape[-1]) + 0.5 if weighted else None
    kwargs = dict(weight=weight, reduction=reduction)
    expected, expected_grads = grads(lambda a, b: F.binary_cross_entropy_with_logits(a, b, **kwargs),
                                     x.requires_grad_(), y.requires_grad_())
    actual, actual_grads = grads(lambda a, b: module.binary_cross_entropy_with_logits(a, b, **kwargs), x, y)
    close(actual, expected)
    for a, e in zip(actual_grads, expected_grads):
        close(a, e)


@pytest.mark.parametrize("module", IMPLEMENTATIONS, ids=["stable", "naive"])
@pytest.mark.parametrize("pos_weight_shape,reduction", list(itertools.product([(1,), (3,)], REDUCTIONS)))
def test_pos_weight_broadcasts_along_last_dim(module, pos_weight_shape, reduction):
    x = logits((6, 3), module)
    y = (torch.rand(6, 3) > 0.7).float()
    pos_weight = torch.rand(pos_weight_shape) * 5
    weight = torch.rand(6, 1) + 0.5
    tensors = (x.requires_grad_(), y.requires_grad_(), weight, pos_weight)

    def call(fn):
        return lambda a, b, w, p: fn(a, b, weight=w, pos_weight=p, reduction=reduction)

    expected, expected_grads = grads(call(F.binary_cross_entropy_with_logits), *tensors)
    actual, actual_grads = grads(call(module.binary_cross_entropy_with_logits), *tensors)
    close(actual, expected)
    assert len(actual_grads) == len(expected_grads) == 2
    for a, e in zip(actual_grads, expected_grads):
        close(a, e, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weight_and_pos_weight_gradients_match_autograd_of_the_textbook_form(reduction):
    # torch refuses weight and pos_weight that require grad; lossviz differentiates both
    x, y = torch.rand(6, 3) * 6 - 3, (torch.rand(6, 3) > 0.5).float()
    weight, pos_weight = torch.rand(6, 1) + 0.5, torch.rand(3) * 3

    def call(fn):
        return lambda w, p: fn(x, y, weight=w, pos_weight=p, reduction=reduction)

    _, expected = grads(call(naive.binary_cross_entropy_with_logits), weight.requires_grad_(), pos_weight.requires_grad_())
    _, actual = grads(call(stable.binary_cross_entropy_with_logits), weight, pos_weight)
    for a, e in zip(actual, expected):
        close(a, e, rtol=1e-5, atol=1e-6)


def test_pos_weight_scales_the_gradient_only_where_y_is_one():
    x = torch.tensor([-2.0, 0.5, -2.0, 0.5], requires_grad=True)
    y = torch.tensor([1.0, 1.0, 0.0, 0.0])
    stable.binary_cross_entropy_with_logits(x, y, pos_weight=torch.tensor([4.0]), reduction="sum").backward()
    with_pos_weight = x.grad.clone()
    x.grad = None
    stable.binary_cross_entropy_with_logits(x, y, reduction="sum").backward()
    torch.testing.assert_close(with_pos_weight[:2], 4 * x.grad[:2])
    torch.testing.assert_close(with_pos_weight[2:], x.grad[2:])


def test_float64_in_float64_out_and_half_types_keep_their_dtype():
    for dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        x = torch.randn(10).to(dtype)
        y = (torch.rand(10) > 0.5).to(dtype)
        for module in IMPLEMENTATIONS:
            for reduction in REDUCTIONS:
                out = module.binary_cross_entropy_with_logits(x, y, reduction=reduction)
                assert out.dtype == dtype, (module.__name__, dtype, reduction)
        expected = F.binary_cross_entropy_with_logits(x.double(), y.double(), reduction="none").to(dtype)
        close(stable.binary_cross_entropy_with_logits(x, y, reduction="none").double(), expected.double(),
              rtol=1e-2, atol=1e-3)


def test_empty_input_mean_is_nan_like_torch():
    x = torch.empty(0)
    assert torch.isnan(stable.binary_cross_entropy_with_logits(x, x))
    assert torch.isnan(F.binary_cross_entropy_with_logits(x, x))
    assert stable.binary_cross_entropy_with_logits(x, x, reduction="sum") == 0


# --- binary cross-entropy on probabilities --------------------------------------------------------

@pytest.mark.parametrize("module", IMPLEMENTATIONS, ids=["stable", "naive"])
@pytest.mark.parametrize("shape,reduction,weighted", list(itertools.product(SHAPES, REDUCTIONS, [False, True])))
def test_bce_matches_torch(module, shape, reduction, weighted):
    p = torch.rand(shape) * 0.98 + 0.01
    y = torch.rand(shape)
    weight = torch.rand(shape) + 0.5 if weighted else None
    kwargs = dict(weight=weight, reduction=reduction)
    expected, expected_grads = grads(lambda a, b: F.binary_cross_entropy(a, b, **kwargs),
                                     p.requires_grad_(), y.requires_grad_())
    actual, actual_grads = grads(lambda a, b: module.binary_cross_entropy(a, b, **kwargs), p, y)
    close(actual, expected, rtol=1e-5, atol=1e-6)
    for a, e in zip(actual_grads, expected_grads):
        close(a, e, rtol=1e-4, atol=1e-5)


def test_bce_at_the_edges_stable_is_exact_naive_is_nan_torch_clamps():
    p = torch.tensor([1.0, 1.0, 0.0, 0.0], requires_grad=True)
    y = torch.tensor([1.0, 0.0, 1.0, 0.0])
    loss = stable.binary_cross_entropy(p, y, reduction="none")
    assert loss.tolist() == [0.0, float("inf"), float("inf"), 0.0]
    loss[[0, 3]].sum().backward()
    assert p.grad[[0, 3]].tolist() == [-1.0, 1.0]  # the exact derivative where it is finite, no 0/0
    naive_loss = naive.binary_cross_entropy(p.detach(), y, reduction="none")
    assert torch.isnan(naive_loss[0]) and torch.isinf(naive_loss[1])
    assert F.binary_cross_entropy(p.detach(), y, reduction="none").tolist() == [0.0, 100.0, 100.0, 0.0]


# --- cross-entropy ----------------------------------------------------------------------------

def ce_cases():
    for shape, reduction, weighted, smoothing, ignore in itertools.product(
            [(6, 4), (2, 3, 5), (2, 4, 3, 2)], REDUCTIONS, [False, True], [0.0, 0.1], [False, True]):
        yield shape, reduction, weighted, smoothing, ignore


@pytest.mark.parametrize("module", IMPLEMENTATIONS, ids=["stable", "naive"])
@pytest.mark.parametrize("shape,reduction,weighted,smoothing,ignore", list(ce_cases()))
def test_cross_entropy_class_indices_match_torch(module, shape, reduction, weighted, smoothing, ignore):
    classes = shape[1]
    z = logits(shape, module)
    target = torch.randint(0, classes, (shape[0],) + shape[2:])
    if ignore:
        target.view(-1)[::3] = -100
    weight = torch.rand(classes) + 0.5 if weighted else None
    kwargs = dict(weight=weight, reduction=reduction, label_smoothing=smoothing)
    expected, expected_grads = grads(lambda a: F.cross_entropy(a, target, **kwargs), z.requires_grad_())
    actual, actual_grads = grads(lambda a: module.cross_entropy(a, target, **kwargs), z)
    close(actual, expected, rtol=1e-5, atol=1e-6)
    close(actual_grads[0], expected_grads[0], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("reduction,smoothing", list(itertools.product(REDUCTIONS, [0.0, 0.1])))
def test_cross_entropy_class_weight_gradient_matches_textbook_autograd(reduction, smoothing):
    # torch refuses a class weight that requires grad; lossviz differentiates it
    z, target = torch.rand(6, 4) * 6 - 3, torch.tensor([0, 1, 2, 3, -100, 1])
    weight = torch.rand(4) + 0.5

    def call(fn):
        return lambda w: fn(z, target, weight=w, reduction=reduction, label_smoothing=smoothing)

    _, (expected,) = grads(call(naive.cross_entropy), weight.requires_grad_())
    _, (actual,) = grads(call(stable.cross_entropy), weight)
    close(actual, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("module", IMPLEMENTATIONS, ids=["stable", "naive"])
@pytest.mark.parametrize("reduction,weighted,smoothing", list(itertools.product(REDUCTIONS, [False, True], [0.0, 0.2])))
def test_cross_entropy_probability_targets_match_torch(module, reduction, weighted, smoothing):
    z = logits((5, 4, 3), module)
    t = torch.softmax(torch.randn(5, 4, 3), dim=1)
    weight = torch.rand(4) + 0.5 if weighted else None
    kwargs = dict(weight=weight, reduction=reduction, label_smoothing=smoothing)
    # the soft target is differentiable too: d loss / d t = -log softmax (times weight)
    expected, expected_grads = grads(lambda a, b: F.cross_entropy(a, b, **kwargs), z.requires_grad_(), t.requires_grad_())
    actual, actual_grads = grads(lambda a, b: module.cross_entropy(a, b, **kwargs), z, t)
    close(actual, expected, rtol=1e-5, atol=1e-6)
    for a, e in zip(actual_grads, expected_grads):
        close(a, e, rtol=1e-4, atol=1e-6)


def test_cross_entropy_unbatched_input():
    z = torch.randn(5)
    for reduction in REDUCTIONS:
        for module in IMPLEMENTATIONS:
            out = module.cross_entropy(z, torch.tensor(2), reduction=reduction)
            expected = F.cross_entropy(z, torch.tensor(2), reduction=reduction)
            assert out.shape == expected.shape
            close(out, expected)


def test_weighted_mean_divides_by_the_sum_of_target_weights():
    z = torch.randn(4, 3)
    target = torch.tensor([0, 1, 1, 2])
    weight = torch.tensor([1.0, 2.0, 5.0])
    per_sample = stable.cross_entropy(z, target, weight=weight, reduction="none")
    mean = stable.cross_entropy(z, target, weight=weight)
    close(mean, per_sample.sum() / weight[target].sum())
    assert not torch.isclose(mean, per_sample.mean())


def test_all_targets_ignored_gives_nan_with_zero_gradient_like_torch():
    target = torch.full((3,), -100)
    for fn in (stable.cross_entropy, naive.cross_entropy, F.cross_entropy):
        z = torch.randn(3, 4, requires_grad=True)
        loss = fn(z, target)
        assert torch.isnan(loss)
        loss.backward()
        assert torch.equal(z.grad, torch.zeros(3, 4)), fn
        assert fn(z, target, reduction="sum").item() == 0


def test_gradient_is_softmax_minus_target():
    z = torch.randn(5, 4, requires_grad=True)
    target = torch.randint(0, 4, (5,))
    stable.cross_entropy(z, target, reduction="sum").backward()
    expected = torch.softmax(z.detach(), 1) - F.one_hot(target, 4).float()
    close(z.grad, expected)


def test_masked_class_with_minus_infinity_logit():
    z = torch.tensor([[2.0, 0.5, -float("inf")]], requires_grad=True)
    target = torch.tensor([0])
    loss = stable.cross_entropy(z, target)
    close(loss, F.cross_entropy(z.detach(), target))
    loss.backward()
    assert torch.isfinite(z.grad).all() and z.grad[0, 2] == 0


# --- mse -------------------------------------------------------------------------------------

@pytest.mark.parametrize("module", IMPLEMENTATIONS, ids=["stable", "naive"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_matches_torch(module, reduction):
    a, b = torch.randn(4, 5), torch.randn(4, 5)
    expected, expected_grads = grads(lambda u, v: F.mse_loss(u, v, reduction=reduction), a.requires_grad_(), b.requires_grad_())
    actual, actual_grads = grads(lambda u, v: module.mse_loss(u, v, reduction=reduction), a, b)
    close(actual, expected)
    for g, e in zip(actual_grads, expected_grads):
        close(g, e)


# --- the failures the notebooks show ----------------------------------------------------------

def test_naive_really_overflows_where_the_notebooks_say():
    x = torch.tensor([20.0, 20.0, -100.0, -100.0], requires_grad=True)
    y = torch.tensor([0.0, 1.0, 1.0, 0.0])
    loss = naive.binary_cross_entropy_with_logits(x, y, reduction="none")
    assert torch.isinf(loss[0]) and torch.isnan(loss[1]) and torch.isinf(loss[2]) and torch.isnan(loss[3])
    loss[0].backward()
    assert torch.isnan(x.grad[0])
    z = torch.tensor([[1000.0, 0.0, -1000.0]], requires_grad=True)
    assert torch.isinf(naive.cross_entropy(z, torch.tensor([1])))
    naive.cross_entropy(z, torch.tensor([0])).backward()
    assert torch.isnan(z.grad).any()


def test_stable_stays_finite_where_naive_breaks():
    x = torch.tensor([20.0, -100.0, 1e4, -1e4], requires_grad=True)
    y = torch.tensor([0.0, 1.0, 0.0, 1.0])
    loss = stable.binary_cross_entropy_with_logits(x, y, reduction="none")
    close(loss, torch.tensor([20.0, 100.0, 1e4, 1e4]))
    loss.sum().backward()
    close(x.grad, torch.tensor([1.0, -1.0, 1.0, -1.0]))
    z = torch.tensor([[1000.0, 0.0, -1000.0]], requires_grad=True)
    loss = stable.cross_entropy(z, torch.tensor([1]))
    assert loss.item() == 1000.0
    loss.backward()
    close(z.grad, torch.tensor([[1.0, -1.0, 0.0]]))


def test_nan_logits_propagate_instead_of_raising():
    x = torch.tensor([float("nan"), 1.0])
    out = stable.binary_cross_entropy_with_logits(x, torch.tensor([1.0, 0.0]), reduction="none")
    assert torch.isnan(out[0]) and torch.isfinite(out[1])
    z = torch.tensor([[float("nan"), 1.0], [0.0, 1.0]])
    out = stable.cross_entropy(z, torch.tensor([0, 1]), reduction="none")
    assert torch.isnan(out[0]) and torch.isfinite(out[1])


# --- accuracy at the edges torch gets wrong -------------------------------------------------------

def test_confident_predictions_keep_their_tiny_loss():
    from lossviz import numerics

    margin = torch.linspace(0, 100, 2001)
    z = torch.stack([margin, torch.zeros_like(margin), -torch.ones_like(margin)], 1)
    target = torch.zeros(len(margin), dtype=torch.long)
    for smoothing in (0.0, 0.1):
        loss = stable.cross_entropy(z, target, reduction="none", label_smoothing=smoothing)
        exact = numerics.exact_cross_entropy(z, target, smoothing)
        assert numerics.ulp_error(loss, exact).max().item() <= 1.0
    assert (F.cross_entropy(z, target, reduction="none")[margin >= 17] == 0).all()  # torch's op


def test_weighted_losses_that_float32_rounds_into_its_subnormals():
    # exp(-104.5) is below float32's smallest subnormal; times a weight of 1000 it is not
    x = torch.tensor([-104.5, -95.0, 90.0, 120.0])
    y = torch.tensor([0.0, 0.0, 1.0, 1.0])
    weight, pos_weight = torch.tensor([1000.0, 3.0, 1.0, 1.0]), torch.tensor([7.0])
    loss = stable.binary_cross_entropy_with_logits(x, y, weight=weight, pos_weight=pos_weight, reduction="none")
    x64 = x.double()
    exact = (weight.double() * torch.where(y == 1, pos_weight.double(), 1.0) * torch.exp(-x64.abs())).float()
    assert torch.equal(loss, exact)
    assert loss[0] > 0
