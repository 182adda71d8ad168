"""torch.func transforms over lossviz.stable: per-sample gradients (vmap of grad, as in PyTorch's
tutorial), forward-mode jvp, Hessians; each compared with the same transform of torch's own op.
Validation that needs values is skipped inside the transforms, and still names the argument outside.
"""
import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call, grad, hessian, jacfwd, jacrev, jvp, vmap

from lossviz import naive, stable


@pytest.fixture(autouse=True)
def seed():
    torch.manual_seed(0)


def close(actual, expected, **kw):
    torch.testing.assert_close(actual, expected, rtol=kw.get("rtol", 1e-5), atol=kw.get("atol", 1e-6))


@pytest.mark.parametrize("module", [stable, naive], ids=["stable", "naive"])
@pytest.mark.parametrize("kwargs", [{}, dict(label_smoothing=0.1, weight=torch.tensor([1.0, 2.0, 0.5, 1.0]))])
def test_per_sample_gradients_like_the_pytorch_tutorial(module, kwargs):
    model = torch.nn.Linear(6, 4)
    params = {k: v.detach() for k, v in model.named_parameters()}
    data, targets = torch.randn(8, 6), torch.randint(0, 4, (8,))

    def per_sample(loss_fn):
        def compute_loss(params, sample, target):
            out = functional_call(model, params, (sample.unsqueeze(0),))
            return loss_fn(out, target.unsqueeze(0), **kwargs)
        return vmap(grad(compute_loss), in_dims=(None, 0, 0))(params, data, targets)

    ours, torchs = per_sample(module.cross_entropy), per_sample(F.cross_entropy)
    for name in ours:
        close(ours[name], torchs[name])


@pytest.mark.parametrize("name,make_args,kwargs", [
    ("cross_entropy", lambda: (torch.randint(0, 4, (5,)),), dict(label_smoothing=0.1)),
    ("cross_entropy", lambda: (torch.softmax(torch.randn(5, 4), 1),), {}),
    ("binary_cross_entropy_with_logits", lambda: (torch.rand(5, 4),), dict(pos_weight=torch.rand(4) * 3)),
    ("binary_cross_entropy_with_logits", lambda: ((torch.rand(5, 4) > 0.5).float(),), dict(weight=torch.rand(5, 1))),
    ("mse_loss", lambda: (torch.randn(5, 4),), {}),
])
def test_jvp_hessian_and_vmap_match_torch(name, make_args, kwargs):
    z, v = torch.randn(5, 4) * 3, torch.randn(5, 4)
    args = make_args()
    ours = lambda z: getattr(stable, name)(z, *args, **kwargs)  # noqa: E731
    torchs = lambda z: getattr(F, name)(z, *args, **kwargs)  # noqa: E731
    for a, b in zip(jvp(ours, (z,), (v,)), jvp(torchs, (z,), (v,))):
        close(a, b)
    close(hessian(ours)(z), hessian(torchs)(z))
    close(jacfwd(jacrev(ours))(z), hessian(torchs)(z))
    # vmap over a batch of problems (each row a separate loss)
    batched = torch.randn(3, 5, 4)
    close(vmap(ours)(batched), vmap(torchs)(batched))
    close(vmap(grad(ours))(batched), vmap(grad(torchs))(batched))


def test_bce_on_probabilities_under_transforms():
    p, y = torch.rand(6) * 0.8 + 0.1, torch.rand(6)
    ours = lambda p: stable.binary_cross_entropy(p, y)  # noqa: E731
    torchs = lambda p: F.binary_cross_entropy(p, y)  # noqa: E731
    close(vmap(grad(ours))(p.view(2, 3).repeat(1, 2)), vmap(grad(torchs))(p.view(2, 3).repeat(1, 2)))
    close(jvp(ours, (p,), (torch.ones(6),))[1], jvp(torchs, (p,), (torch.ones(6),))[1])


def test_gradient_of_weight_and_pos_weight_under_grad():
    # torch refuses to differentiate these; torch.func.grad of lossviz does, like autograd does
    x, y = torch.randn(4, 3), (torch.rand(4, 3) > 0.5).float()
    pos_weight = torch.rand(3) * 2
    via_func = grad(lambda p: stable.binary_cross_entropy_with_logits(x, y, pos_weight=p))(pos_weight)
    p = pos_weight.clone().requires_grad_()
    stable.binary_cross_entropy_with_logits(x, y, pos_weight=p).backward()
    close(via_func, p.grad)


def test_value_checks_are_skipped_inside_vmap_and_kept_outside():
    x = torch.zeros(2, 3)
    y = torch.tensor([[0.0, 1.0, 0.5], [1.0, 0.0, 1.0]])
    # inside vmap a target's value cannot be read without breaking the transform: no data-dependent error
    out = vmap(lambda a, b: stable.binary_cross_entropy_with_logits(a, b))(x, y)
    close(out, F.binary_cross_entropy_with_logits(x, y, reduction="none").mean(1))
    with pytest.raises(ValueError, match="'target'"):
        stable.binary_cross_entropy_with_logits(x, y * 2)
    # shape checks need no values and still run inside a transform
    with pytest.raises(ValueError, match="'target'.*shape"):
        vmap(lambda a, b: stable.binary_cross_entropy_with_logits(a, b))(x, torch.zeros(2, 4))


def test_vmap_keeps_the_accuracy_of_confident_predictions():
    margins = torch.tensor([10.0, 20.0, 40.0])
    logits = torch.stack([torch.stack([m, torch.tensor(0.0), torch.tensor(-1.0)]) for m in margins])
    per_row = vmap(lambda z: stable.cross_entropy(z, torch.tensor(0)))(logits)
    exact = torch.log1p(torch.exp(-margins.double()) + torch.exp(-margins.double() - 1))
    close(per_row.double(), exact, rtol=2e-7, atol=0)
    assert (F.cross_entropy(logits, torch.zeros(3, dtype=torch.long), reduction="none")[1:] == 0).all()
