"""Every tensor lossviz makes follows the input's device: each loss, stable and naive, runs on the
``meta`` device (forward and backward) and on a fake CUDA device (``FakeTensorMode``), which needs
no GPU. On a machine with a GPU the real CUDA check runs too.

A CPU-only torch aborts the process if autograd records a graph on a fake CUDA tensor
(``InputMetadata`` asks the CUDA device guard for a stream), so under FakeTensorMode the forward
runs without autograd and the backward and jvp of lossviz's own autograd Functions are called
directly; the plain-composition paths (naive, mse, probability targets) differentiate through
torch's own ops, whose device handling the meta run covers.
"""
import pytest
import torch
import torch.nn.functional as F
from torch._subclasses.fake_tensor import FakeTensorMode

from lossviz import naive, stable
from lossviz._bce import BCEProbabilities, BCEWithLogits
from lossviz._cross_entropy import ClassIndexCrossEntropy


def calls(device, requires_grad):
    """(name, call(module), differentiable leaves) for every loss and its main options."""
    def new(*shape, grad=False):
        return torch.randn(*shape, device=device, requires_grad=grad and requires_grad)

    z, x, p = new(6, 5, grad=True), new(6, 5, grad=True), torch.rand(6, 5, device=device)
    target = torch.randint(0, 5, (6,), device=device)
    y = torch.rand(6, 5, device=device)
    weight, soft = torch.rand(5, device=device), torch.softmax(new(6, 5), 1)
    return [
        ("cross_entropy", lambda m: m.cross_entropy(z, target), z),
        ("cross_entropy weighted smoothed ignore", lambda m: m.cross_entropy(
            z, torch.where(target == 0, -100, target), weight=weight, label_smoothing=0.1), z),
        ("cross_entropy uint8", lambda m: m.cross_entropy(z, target.to(torch.uint8), reduction="none"), z),
        ("cross_entropy probabilities", lambda m: m.cross_entropy(z, soft, label_smoothing=0.2), z),
        ("bce_with_logits", lambda m: m.binary_cross_entropy_with_logits(x, y), x),
        ("bce_with_logits weight pos_weight", lambda m: m.binary_cross_entropy_with_logits(
            x, y, weight=weight, pos_weight=weight, reduction="sum"), x),
        ("bce", lambda m: m.binary_cross_entropy(p, y, weight=weight), None),
        ("mse", lambda m: m.mse_loss(x, y, weight=p), x),
    ]


@pytest.mark.parametrize("module", [stable, naive], ids=["stable", "naive"])
def test_every_loss_forward_and_backward_on_meta(module):
    for name, call, leaf in calls("meta", requires_grad=True):
        out = call(module)
        assert out.device.type == "meta", name
        if leaf is not None:
            (grad,) = torch.autograd.grad(out.sum(), leaf)
            assert grad.device.type == "meta" and grad.shape == leaf.shape and grad.dtype == leaf.dtype, name


@pytest.mark.parametrize("module", [stable, naive], ids=["stable", "naive"])
def test_every_loss_forward_on_fake_cuda(module):
    with FakeTensorMode(allow_non_fake_inputs=False):
        for name, call, _ in calls("cuda", requires_grad=False):
            out = call(module)
            assert out.device.type == "cuda", name
            assert out.dtype == torch.float32, name


class RecordingContext:
    """What autograd hands a Function's setup_context / backward / jvp, without autograd."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad

    def save_for_backward(self, *tensors):
        self.saved_tensors = tensors

    def save_for_forward(self, *tensors):
        self.saved_tensors = tensors


def run_function(function, inputs, differentiable):
    output = function.forward(*inputs)
    ctx = RecordingContext(tuple(i in differentiable for i in range(len(inputs))))
    function.setup_context(ctx, inputs, output)
    grads = function.backward(ctx, torch.ones_like(output))
    tangents = [torch.ones_like(t) if i in differentiable else None for i, t in enumerate(inputs)]
    tangent = function.jvp(ctx, *tangents)
    return output, [g for g in grads if g is not None], tangent


def test_backward_and_jvp_of_the_autograd_functions_on_fake_cuda():
    with FakeTensorMode(allow_non_fake_inputs=False):
        cuda = dict(device="cuda")
        x, y, w = torch.randn(6, 5, **cuda), torch.rand(6, 5, **cuda), torch.rand(5, **cuda)
        target = torch.randint(0, 5, (6,), **cuda)
        cases = [
            (BCEWithLogits, (x, y, w, w, "mean"), {0, 1, 2, 3}),
            (BCEWithLogits, (x, y, None, None, "none"), {0, 1}),
            (BCEProbabilities, (torch.rand(6, 5, **cuda), y), {0, 1}),
            (ClassIndexCrossEntropy, (x, target, target != 0, w, 0.1), {0, 3}),
            (ClassIndexCrossEntropy, (x, target, target >= 0, None, 0.0), {0}),
        ]
        for function, inputs, differentiable in cases:
            output, grads, tangent = run_function(function, inputs, differentiable)
            assert len(grads) == len(differentiable)
            for t in [output, tangent, *grads]:
                assert t.device.type == "cuda", function.__name__


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("module", [stable, naive], ids=["stable", "naive"])
def test_real_cuda(module):
    torch.manual_seed(0)
    for name, call, leaf in calls("cuda", requires_grad=True):
        out = call(module)
        assert out.device.type == "cuda", name
        if leaf is not None:
            (grad,) = torch.autograd.grad(out.sum(), leaf)
            assert grad.device.type == "cuda" and torch.isfinite(grad).all(), name
    z = torch.randn(64, 10, device="cuda", requires_grad=True)
    target = torch.randint(0, 10, (64,), device="cuda")
    ours = module.cross_entropy(z, target, label_smoothing=0.1)
    (ours_grad,) = torch.autograd.grad(ours, z)
    torchs = F.cross_entropy(z, target, label_smoothing=0.1)
    (torchs_grad,) = torch.autograd.grad(torchs, z)
    torch.testing.assert_close(ours, torchs)
    torch.testing.assert_close(ours_grad, torchs_grad)
