"""PyTorch's own test inputs, run against lossviz: the sample inputs torch ships for its loss ops
(``common_methods_invocations.op_db``) and loss modules (``common_modules.module_db``).

For each sample, stable and naive must give torch's value and torch's gradient for every argument
torch differentiates, in float32 and float64 (the samples keep |logit| < 10 and probabilities in
(0.01, 0.99), inside the textbook formulas' safe range, so naive runs on all of them); stable also
passes gradcheck (with forward AD) and gradgradcheck in float64.

torch.testing._internal imports ``expecttest`` (PyTorch's own test dependency, in the ``test`` extra
of pyproject.toml) for its TestCase base class; the real package is required, no stand-in.
"""
import pytest
import torch
from torch.autograd import gradcheck, gradgradcheck
from torch.testing._internal.common_methods_invocations import op_db
from torch.testing._internal.common_modules import module_db

from lossviz import naive, stable

OPS = {f"nn.functional.{name}": name for name in
       ("binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "mse_loss")}
MODULES = {"BCELoss": "binary_cross_entropy", "BCEWithLogitsLoss": "binary_cross_entropy_with_logits",
           "CrossEntropyLoss": "cross_entropy", "MSELoss": "mse_loss"}
MODULE_OPTIONS = ("weight", "pos_weight", "ignore_index", "label_smoothing", "reduction")


def op_samples(dtype):
    for op in op_db:
        if op.name in OPS:
            for index, sample in enumerate(op.sample_inputs("cpu", dtype, requires_grad=True)):
                yield pytest.param(op, sample, id=f"{OPS[op.name]}-{index}")


def module_samples(dtype):
    for info in module_db:
        name = info.module_cls.__name__
        if name in MODULES:
            inputs = info.module_inputs_func(info, device="cpu", dtype=dtype, requires_grad=True, training=True)
            for index, module_input in enumerate(inputs):
                yield pytest.param(info.module_cls, module_input, id=f"{name}-{index}")


def differentiable(tensors):
    return [t for t in tensors if isinstance(t, torch.Tensor) and t.requires_grad]


def value_and_grads(fn, args, kwargs):
    out = fn(*args, **kwargs)
    leaves = differentiable(args)
    return out, torch.autograd.grad(out.sum(), leaves, allow_unused=True)


def assert_matches(fn, reference, args, kwargs, dtype):
    # float32: the textbook forms round differently from torch (1/p for p near 0.01 in naive BCE)
    tolerance = dict(equal_nan=True) if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-5, equal_nan=True)
    expected, expected_grads = value_and_grads(reference, args, kwargs)
    actual, actual_grads = value_and_grads(fn, args, kwargs)
    torch.testing.assert_close(actual, expected, **tolerance)
    for a, e in zip(actual_grads, expected_grads):
        torch.testing.assert_close(a, e, **tolerance)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("module", [stable, naive], ids=["stable", "naive"])
def test_op_db_samples(module, dtype):
    count = 0
    for case in op_samples(dtype):
        op, sample = case.values
        args = (sample.input, *sample.args)
        assert_matches(getattr(module, OPS[op.name]), op.op, args, sample.kwargs, dtype)
        count += 1
    assert count >= 60  # 64 in torch 2.13: the loop really ran


@pytest.mark.parametrize("op,sample", list(op_samples(torch.float64)))
def test_op_db_gradcheck_and_gradgradcheck(op, sample):
    fn = getattr(stable, OPS[op.name])
    leaves = differentiable((sample.input, *sample.args))

    def call(*values):
        replaced = iter(values)
        args = [next(replaced) if isinstance(a, torch.Tensor) and a.requires_grad else a
                for a in (sample.input, *sample.args)]
        return fn(*args, **sample.kwargs)

    assert gradcheck(call, leaves, check_forward_ad=True)
    assert gradgradcheck(call, leaves)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("module", [stable, naive], ids=["stable", "naive"])
def test_module_db_samples(module, dtype):
    count = 0
    for case in module_samples(dtype):
        module_cls, module_input = case.values
        loss_module = module_cls(*module_input.constructor_input.args, **module_input.constructor_input.kwargs)
        options = {name: getattr(loss_module, name) for name in MODULE_OPTIONS if hasattr(loss_module, name)}
        args = module_input.forward_input.args
        reference = (lambda *inputs, **_: loss_module(*inputs))  # the options live in the module
        assert_matches(getattr(module, MODULES[module_cls.__name__]), reference, args, options, dtype)
        count += 1
    assert count >= 100  # 125 in torch 2.13
