"""Bad input gets a TypeError or ValueError that names the function, the argument, what was
expected and what came; never a silent number. NaN is data and passes."""
import re

import pytest
import torch
import torch.nn.functional as F

from lossviz import naive, numerics, smoothed_targets, stable

MODULES = [stable, naive]
x4 = torch.zeros(4)
y4 = torch.tensor([0.0, 1.0, 0.5, 1.0])
z43 = torch.zeros(4, 3)
t4 = torch.tensor([0, 1, 2, 0])


def raises(error, *fragments):
    """pytest.raises that also requires every fragment in the message."""
    pattern = "".join(f"(?=[\\s\\S]*{re.escape(f)})" for f in fragments)
    return pytest.raises(error, match=pattern)


@pytest.fixture(params=MODULES, ids=["stable", "naive"])
def module(request):
    return request.param


# --- shared input checks -------------------------------------------------------------------------

def test_non_tensor_input(module):
    with raises(TypeError, "binary_cross_entropy_with_logits()", "'input'", "torch.Tensor", "list"):
        module.binary_cross_entropy_with_logits([0.0, 1.0], y4[:2])
    with raises(TypeError, "cross_entropy()", "'target'", "torch.Tensor", "int"):
        module.cross_entropy(z43, 3)


def test_integer_logits(module):
    with raises(TypeError, "'input'", "floating-point", "torch.int64"):
        module.binary_cross_entropy_with_logits(torch.tensor([1, 2]), torch.tensor([0.0, 1.0]))
    with raises(TypeError, "'input'", "floating-point", "torch.int64"):
        module.cross_entropy(torch.tensor([[1, 2]]), torch.tensor([0]))


def test_integer_binary_target(module):
    with raises(TypeError, "'target'", "floating-point", "torch.int64"):
        module.binary_cross_entropy_with_logits(x4, torch.tensor([0, 1, 1, 0]))


def test_mismatched_shapes(module):
    with raises(ValueError, "'target'", "shape of 'input'", "(4,)", "(4, 1)"):
        module.binary_cross_entropy_with_logits(x4, y4.unsqueeze(1))
    with raises(ValueError, "mse_loss()", "(4,)", "(2,)"):
        module.mse_loss(x4, torch.zeros(2))


def test_mismatched_dtypes(module):
    with raises(TypeError, "'target'", "dtype of 'input'", "torch.float32", "torch.float64"):
        module.binary_cross_entropy_with_logits(x4, y4.double())


def test_binary_target_outside_unit_interval(module):
    with raises(ValueError, "'target'", "[0, 1]", "from 0 to 2"):
        module.binary_cross_entropy_with_logits(x4, torch.tensor([0.0, 1.0, 2.0, 1.0]))
    with raises(ValueError, "'target'", "[0, 1]", "-1"):
        module.binary_cross_entropy(torch.full((2,), 0.5), torch.tensor([-1.0, 1.0]))


def test_probabilities_outside_unit_interval(module):
    with raises(ValueError, "binary_cross_entropy()", "'input'", "probabilities", "sigmoid", "from -0.5 to 3"):
        module.binary_cross_entropy(torch.tensor([-0.5, 3.0]), torch.tensor([0.0, 1.0]))


def test_unknown_reduction(module):
    with raises(ValueError, "'reduction'", "'none', 'mean', 'sum'", "'avg'"):
        module.binary_cross_entropy_with_logits(x4, y4, reduction="avg")
    with raises(ValueError, "'reduction'", "'elementwise_mean'"):
        module.cross_entropy(z43, t4, reduction="elementwise_mean")


def test_weight_that_does_not_broadcast(module):
    with raises(ValueError, "'weight'", "broadcast", "(4,)", "(3,)"):
        module.binary_cross_entropy_with_logits(x4, y4, weight=torch.ones(3))


def test_negative_weights_are_accepted_like_torch(module):
    # signed event weights (physics) are defined in torch, so they are not a mistake
    weight = torch.tensor([1.0, -1.0, 2.0, 1.0])
    torch.testing.assert_close(module.binary_cross_entropy_with_logits(x4, y4, weight=weight),
                               F.binary_cross_entropy_with_logits(x4, y4, weight=weight))
    logits, labels = torch.randn(5, 3), (torch.rand(5, 3) > 0.5).float()
    pos_weight = torch.tensor([1.0, -2.0, 1.0])
    torch.testing.assert_close(module.binary_cross_entropy_with_logits(logits, labels, pos_weight=pos_weight),
                               F.binary_cross_entropy_with_logits(logits, labels, pos_weight=pos_weight))
    class_weight = torch.tensor([1.0, -1.0, 3.0])
    z = torch.randn(4, 3)
    torch.testing.assert_close(module.cross_entropy(z, t4, weight=class_weight, reduction="sum"),
                               F.cross_entropy(z, t4, weight=class_weight, reduction="sum"))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_weights_are_refused(module, bad):
    weight = torch.tensor([1.0, bad, 1.0, 1.0])
    with raises(ValueError, "binary_cross_entropy_with_logits()", "'weight'", "finite", str(bad)):
        module.binary_cross_entropy_with_logits(x4, y4, weight=weight)
    with raises(ValueError, "'pos_weight'", "finite"):
        module.binary_cross_entropy_with_logits(torch.zeros(2, 4), torch.zeros(2, 4), pos_weight=weight)
    with raises(ValueError, "binary_cross_entropy()", "'weight'", "finite"):
        module.binary_cross_entropy(torch.full((4,), 0.5), y4, weight=weight)
    with raises(ValueError, "cross_entropy()", "'weight'", "finite"):
        module.cross_entropy(z43, t4, weight=weight[:3])
    with raises(ValueError, "mse_loss()", "'weight'", "finite"):
        module.mse_loss(x4, y4, weight=weight)


def test_pos_weight_wrong_length(module):
    logits, labels = torch.zeros(5, 3), torch.zeros(5, 3)
    with raises(ValueError, "'pos_weight'", "last dimension", "length 3", "(4,)"):
        module.binary_cross_entropy_with_logits(logits, labels, pos_weight=torch.ones(4))
    with raises(ValueError, "'pos_weight'", "broadcast", "(5, 3)", "(2, 5, 3)"):
        module.binary_cross_entropy_with_logits(logits, labels, pos_weight=torch.ones(2, 5, 3))


@pytest.mark.parametrize("shape", [(1, 3), (5, 1), (5, 3), (1,), ()])
def test_pos_weight_broadcasts_as_torch_allows(module, shape):
    logits, labels = torch.randn(5, 3), (torch.rand(5, 3) > 0.5).float()
    pos_weight = torch.rand(shape) * 3
    torch.testing.assert_close(module.binary_cross_entropy_with_logits(logits, labels, pos_weight=pos_weight),
                               F.binary_cross_entropy_with_logits(logits, labels, pos_weight=pos_weight))


def test_zero_dimensional_input_with_one_pos_weight(module):
    # torch itself fails here (its in-place multiply cannot grow a 0-d loss); one weight fits any input
    x, y = torch.tensor(0.3), torch.tensor(1.0)
    out = module.binary_cross_entropy_with_logits(x, y, pos_weight=torch.tensor([2.0]), reduction="none")
    assert out.shape == ()
    torch.testing.assert_close(out, 2 * F.binary_cross_entropy_with_logits(x, y, reduction="none"))


# --- torch's exceptions still catch ours ----------------------------------------------------------

def test_errors_are_also_runtime_errors_like_torchs(module):
    with pytest.raises(RuntimeError):
        module.binary_cross_entropy_with_logits(x4, torch.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(RuntimeError):
        module.binary_cross_entropy_with_logits(x4, y4.double())
    with pytest.raises(IndexError):  # torch's nll_loss: "Target 3 is out of bounds."
        module.cross_entropy(z43, torch.tensor([0, 1, 3, 0]))


@pytest.mark.parametrize("name", ["size_average", "reduce"])
def test_deprecated_arguments_get_a_type_error_naming_them(module, name):
    with raises(TypeError, f"'{name}'", "deprecated", "reduction="):
        module.binary_cross_entropy_with_logits(x4, y4, **{name: True})
    with raises(TypeError, f"'{name}'", "deprecated"):
        module.cross_entropy(z43, t4, **{name: False})
    with raises(TypeError, f"'{name}'", "deprecated"):
        module.mse_loss(x4, y4, **{name: True})
    # None is torch's default and means nothing
    module.binary_cross_entropy(torch.full((4,), 0.5), y4, **{name: None})


def test_unknown_keyword(module):
    with raises(TypeError, "unexpected keyword argument", "'pos_weigth'"):
        module.binary_cross_entropy_with_logits(x4, y4, pos_weigth=torch.ones(1))


def test_mse_weight_must_have_the_shape_of_input(module):
    with raises(ValueError, "mse_loss()", "'weight'", "(4,)", "(1,)"):
        module.mse_loss(x4, y4, weight=torch.ones(1))


def test_tensors_on_different_devices(module):
    with raises(ValueError, "'target'", "device of 'input'", "meta"):
        module.binary_cross_entropy_with_logits(x4, y4.to("meta"))
    with raises(ValueError, "'weight'", "device of 'input'"):
        module.cross_entropy(z43, t4, weight=torch.ones(3, device="meta"))


# --- cross_entropy --------------------------------------------------------------------------

def test_class_index_out_of_range(module):
    with raises(ValueError, "'target'", "class indices in [0, 2]", "from 0 to 3"):
        module.cross_entropy(z43, torch.tensor([0, 1, 3, 0]))
    with raises(ValueError, "class indices in [0, 2]", "from -1 to 1"):
        module.cross_entropy(z43, torch.tensor([0, 1, -1, 0]))


def test_ignore_index_is_not_out_of_range(module):
    out = module.cross_entropy(z43, torch.tensor([0, -100, 2, 1]))
    assert torch.isfinite(out)


def test_float_class_indices(module):
    with raises(TypeError, "'target'", "class indices", "torch.float32", "target.long()"):
        module.cross_entropy(z43, torch.tensor([0.0, 1.0, 2.0, 0.0]))


def test_one_dimensional_logits_with_a_batch_of_targets(module):
    with raises(ValueError, "1-D 'input'", "ONE sample", "(N, C)", "binary_cross_entropy_with_logits"):
        module.cross_entropy(torch.zeros(4), torch.tensor([0, 1, 1, 0]))


def test_target_shape_for_class_indices(module):
    with raises(ValueError, "'target'", "shape (4,)", "got (4, 1)"):
        module.cross_entropy(z43, t4.unsqueeze(1))


def test_class_weight_wrong_length(module):
    with raises(ValueError, "'weight'", "one weight per class", "3 classes", "(4,)"):
        module.cross_entropy(z43, t4, weight=torch.ones(4))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int32, torch.int16])
def test_any_integer_class_indices(module, dtype):
    z = torch.randn(4, 3)
    expected = F.cross_entropy(z, t4, label_smoothing=0.1)
    torch.testing.assert_close(module.cross_entropy(z, t4.to(dtype), label_smoothing=0.1), expected)


def test_empty_inputs_behave_like_torch(module):
    for args in [(torch.empty(0), torch.empty(0)), (torch.empty(0, 3), torch.empty(0, dtype=torch.long)),
                 (torch.empty(0, 3), torch.empty(0, 3)), (torch.empty(4, 0), torch.empty(4, 0))]:
        for reduction in ("mean", "sum", "none"):
            expected = F.cross_entropy(*args, reduction=reduction)
            torch.testing.assert_close(module.cross_entropy(*args, reduction=reduction), expected, equal_nan=True)


def test_no_classes_with_class_indices(module):
    with raises(IndexError, "'input' has no classes", "'target'", "4 target(s)"):
        module.cross_entropy(torch.empty(4, 0), torch.zeros(4, dtype=torch.long))


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_label_smoothing_outside_unit_interval(module, value):
    with raises(ValueError, "'label_smoothing'", "[0, 1]", repr(value)):
        module.cross_entropy(z43, t4, label_smoothing=value)


def test_label_smoothing_not_a_number(module):
    with raises(TypeError, "'label_smoothing'", "float", "str"):
        module.cross_entropy(z43, t4, label_smoothing="0.1")


def test_probability_targets_outside_unit_interval(module):
    with raises(ValueError, "'target'", "class probabilities", "[0, 1]"):
        module.cross_entropy(z43, torch.full((4, 3), 1.5))


def test_ignore_index_with_probability_targets(module):
    with raises(ValueError, "'ignore_index'", "class-index targets only"):
        module.cross_entropy(z43, torch.full((4, 3), 1 / 3), ignore_index=0)


# --- NaN is data -------------------------------------------------------------------------------

def test_nan_passes_the_range_checks(module):
    out = module.binary_cross_entropy_with_logits(x4, torch.tensor([0.0, float("nan"), 1.0, 0.0]), reduction="none")
    assert torch.isnan(out[1]) and torch.isfinite(out[[0, 2, 3]]).all()


def test_nan_does_not_hide_a_bad_value(module):
    with raises(ValueError, "'target'", "[0, 1]", "to 2"):
        module.binary_cross_entropy_with_logits(x4, torch.tensor([float("nan"), 2.0, 0.0, 0.0]))


# --- the other public functions ---------------------------------------------------------------

def test_smoothed_targets_arguments():
    with raises(ValueError, "smoothed_targets()", "'convention'", "'torch' or 'uniform_others'", "'blog'"):
        smoothed_targets(torch.tensor([0]), 4, 0.1, convention="blog")
    with raises(ValueError, "'num_classes'", "at least 2", "1"):
        smoothed_targets(torch.tensor([0]), 1, 0.1)
    with raises(ValueError, "'target'", "[0, 3]", "from 5 to 5"):
        smoothed_targets(torch.tensor([5]), 4, 0.1)


def test_numerics_arguments():
    with raises(TypeError, "sigmoid_saturation()", "'dtype'", "torch.int32"):
        numerics.sigmoid_saturation(torch.int32)
    with raises(TypeError, "ulp_error()", "'exact'", "float64", "torch.float32"):
        numerics.ulp_error(torch.zeros(3), torch.zeros(3))
    with raises(ValueError, "ulp_error()", "'exact'", "(3,)", "(2,)"):
        numerics.ulp_error(torch.zeros(3), torch.zeros(2, dtype=torch.float64))
    with raises(ValueError, "find_boundary()", "'start'", "finite", "nan"):
        numerics.find_boundary(lambda t: t > 0, float("nan"), 1.0)
    with raises(ValueError, "find_boundary()", "false at 'start'"):
        numerics.find_boundary(lambda t: t > -5, 0.0, 1.0)
    with raises(ValueError, "exact_bce_with_logits()", "broadcast", "(3,)", "(2,)"):
        numerics.exact_bce_with_logits(torch.zeros(3), torch.zeros(2))
    with raises(ValueError, "exact_cross_entropy()", "(N, C) or (C,)"):
        numerics.exact_cross_entropy(torch.zeros(2, 3, 4), torch.zeros(2, 4, dtype=torch.long))
