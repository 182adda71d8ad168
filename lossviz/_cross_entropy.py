r"""Cross-entropy per sample, accurate for confident predictions, at torch's speed and memory.

For logits z (class dimension 1), m = max_k z_k and S = sum over the classes other than the
arg-max of exp(z_k - m), the loss of a target distribution a is

    sum_j a_j (log1p(S) + m - z_j) = A log1p(S) + sum_j a_j (m - z_j),   A = sum_j a_j,

every part >= 0 (for non-negative weights), so nothing cancels, and log1p keeps the tiny loss of
a confident correct prediction that log(1 + S) rounds to 0. The shift z - m and the sum are done
in float64 (exact for float32 logits), a slice of rows at a time, so no float64 copy of the whole
batch ever exists.

Class-index targets go through an autograd Function that saves only its inputs and recomputes
softmax in the backward (no N x C target matrix, no saved float64): gradient softmax(z) A - a.
Probability targets are a plain composition of float64 torch ops (autograd does the rest).
"""
from __future__ import annotations

import torch

from ._validate import has_values

_CHUNK = 1 << 19  # float64 elements per slice of rows in the forward: 4 MiB


def _class_view(t: torch.Tensor, dims: int) -> torch.Tensor:
    """A (C,) tensor shaped to broadcast along dimension 1 of a ``dims``-dimensional tensor."""
    return t.view([1, -1] + [1] * (dims - 2))


def _per_sample(weight, target):
    """_per_sample(weight, target) without Python indexing (which fake CUDA tensors refuse on a CPU-only build)."""
    return weight.index_select(0, target.reshape(-1)).view(target.shape)


def _softmax(z, in_place=False):
    """softmax over dimension 1, laid out like ``z`` (the gradient autograd keeps as it is)."""
    if z.dim() == 2 and 1 <= z.shape[1] <= 32:
        # torch's softmax over the last dimension is slow for a few classes (10 classes, 10^5 rows:
        # 7.6 ms, two threads); its transpose trick is fast (1.3 ms) but hands back a column-major
        # tensor that autograd copies into z's layout (another 0.9 ms and 4 MB of fresh pages).
        # Written out, row-major: 1.1 ms. The max is a constant (softmax does not depend on it), so
        # a double backward differentiates only through z.
        shifted = torch.sub(z, z.detach().amax(1, keepdim=True))
        exp = shifted.exp_() if in_place else shifted.exp()
        return exp.div_(exp.sum(1, keepdim=True)) if in_place else exp / exp.sum(1, keepdim=True)
    return torch.softmax(z, 1)


def _top(z):
    """(max over the classes, its index or None): max with indices is slow over a short last
    dimension, amax is not, so up to 32 classes the index is left out (ties are counted instead)."""
    if z.shape[1] <= 32:
        return z.amax(1, keepdim=True), None
    return z.max(1, keepdim=True)


def _rows(z, target, keep, weight, smoothing):
    """float64 loss of a slice of rows (class-index targets), out of place (torch.func's vmap has no
    batching rule for the in-place forms of _rows_in_place)."""
    classes = z.shape[1]
    top, top_index = _top(z)
    few_classes = top_index is None
    shifted = z.to(torch.float64, copy=True).sub_(top)  # exact for float32 / half logits
    true_margin = -shifted.gather(1, target.unsqueeze(1)).squeeze(1)  # m - z_y
    smooth = None
    if smoothing > 0:
        weighted = shifted if weight is None else shifted * _class_view(weight, z.dim())
        smooth = -weighted.sum(1)  # sum_j w_j (m - z_j)
    scaled = shifted.exp_()
    in_place = has_values(z)  # vmap has batching rules only for the out-of-place forms
    if few_classes:
        # leave out one exp(0) = 1 exactly: drop every term that is exactly 1 (the top, its ties, any
        # exp(-tiny) that rounds to 1), then add back all of them but one
        at_top = scaled == 1
        scaled = scaled.masked_fill_(at_top, 0.0) if in_place else scaled.masked_fill(at_top, 0.0)
        others = scaled.sum(1) + (at_top.sum(1) - 1)
    else:
        scaled = scaled.scatter_(1, top_index, 0.0) if in_place else scaled.scatter(1, top_index, 0.0)
        others = scaled.sum(1)
    true_weight = 1.0 if weight is None else _per_sample(weight, target)
    total_weight = classes if weight is None else weight.sum()
    row_total = (1 - smoothing) * true_weight + (smoothing / classes) * total_weight
    loss = row_total * torch.log1p(others) + (1 - smoothing) * true_weight * true_margin
    if smooth is not None:
        loss = loss + (smoothing / classes) * smooth
    # an ignored sample costs exactly 0, even if its logits are NaN or its target's logit is -inf
    return torch.where(keep, loss, torch.zeros_like(loss))


def _rows_in_place(z, target, keep, weight, smoothing, buffer, out):
    """_rows for tensors with values: the same steps, in ``buffer`` (float64, z's shape) and ``out``
    (float64, one per sample). Each fresh tensor costs its page faults: 10^5 rows of 10 classes,
    every tensor above 128 KiB on fresh pages, the whole forward faulted 7,781 pages out of place and
    4,891 in place (forward + backward 1.6 -> 1.1 times torch's, two threads)."""
    classes = z.shape[1]
    top, top_index = _top(z)
    shifted = buffer.copy_(z).sub_(top)
    loss = torch.gather(shifted, 1, target.unsqueeze(1), out=out.unsqueeze(1)).squeeze(1).neg_()  # m - z_y
    true_weight = None if weight is None else _per_sample(weight, target)
    if true_weight is not None:
        loss.mul_(true_weight)
    loss.mul_(1 - smoothing)
    if smoothing > 0:
        weighted = shifted if weight is None else shifted * _class_view(weight, z.dim())
        loss.sub_(weighted.sum(1), alpha=smoothing / classes)  # + eps/C sum_j w_j (m - z_j)
    scaled = shifted.exp_()
    if top_index is None:
        at_top = scaled == 1  # as in _rows: every exact 1 left out, all of them but one added back
        # the count - 1 first (0 but for ties): 1 + S - 1 would lose a tiny S
        others = scaled.masked_fill_(at_top, 0.0).sum(1).add_(at_top.sum(1).sub_(1))
    else:
        others = scaled.scatter_(1, top_index, 0.0).sum(1)
    total_weight = classes if weight is None else weight.sum()
    if true_weight is None:
        row_total = (1 - smoothing) + (smoothing / classes) * total_weight
    else:
        row_total = (1 - smoothing) * true_weight + (smoothing / classes) * total_weight
    loss.add_(others.log1p_().mul_(row_total))
    # an ignored sample costs exactly 0, even if its logits are NaN or its target's logit is -inf
    return loss.masked_fill_(keep.logical_not(), 0.0)


def _row_coefficients(target, keep, weight, smoothing, classes, dtype):
    """(1 - eps) w_y and A = (1 - eps) w_y + eps/C sum(w) per sample, 0 for ignored ones."""
    true_weight = torch.ones_like(target, dtype=dtype) if weight is None else _per_sample(weight, target)
    true_weight = torch.where(keep, true_weight, torch.zeros_like(true_weight))
    total_weight = classes if weight is None else weight.sum()
    on_target = (1 - smoothing) * true_weight
    smooth_weight = (smoothing / classes) * total_weight * keep.to(dtype)
    return on_target, on_target + smooth_weight


class ClassIndexCrossEntropy(torch.autograd.Function):
    """Per-sample loss (float64) for logits (N, C, *) and class indices (N, *).

    Inputs: logits, target (long, ignored entries replaced by 0), keep (bool, False where
    ignored), weight (C,) or None, label_smoothing (float).
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(z, target, keep, weight, smoothing):
        weight64 = None if weight is None else weight.double()
        count = z.shape[0]
        # slices that stay in cache: 2^19 elements beat both 2^17 and 2^22 at 1 and 2 threads
        rows = max(1, _CHUNK // max(1, z.numel() // count)) if count else 1
        part = (lambda t, start: t.narrow(0, start, min(rows, count - start)))
        if has_values(z, target, keep, weight) and count:
            # one float64 slice buffer for every slice and the losses written straight into place
            buffer = torch.empty((min(rows, count), *z.shape[1:]), dtype=torch.float64, device=z.device)
            out = torch.empty(target.shape, dtype=torch.float64, device=z.device)
            for start in range(0, count, rows):
                size = min(rows, count - start)
                _rows_in_place(part(z, start), part(target, start), part(keep, start), weight64, smoothing,
                               buffer[:size], out[start:start + size])
            return out
        pieces = [_rows(part(z, start), part(target, start), part(keep, start), weight64, smoothing)
                  for start in range(0, count, rows)]
        if not pieces:
            return torch.zeros(target.shape, dtype=torch.float64, device=z.device)
        return pieces[0] if len(pieces) == 1 else torch.cat(pieces)

    @staticmethod
    def setup_context(ctx, inputs, output):
        z, target, keep, weight, smoothing = inputs
        ctx.save_for_backward(z, target, keep, weight)
        ctx.save_for_forward(z, target, keep, weight)
        ctx.smoothing = smoothing

    @staticmethod
    def backward(ctx, grad):
        z, target, keep, weight = ctx.saved_tensors
        smoothing, classes = ctx.smoothing, z.shape[1]
        grad = grad.to(z.dtype)
        on_target, row_total = _row_coefficients(target, keep, weight, smoothing, classes, z.dtype)
        grad_z = grad_weight = None
        if ctx.needs_input_grad[0]:
            # (softmax * A - a) * grad; the one-hot part is a scatter, never an N x C matrix
            scale, on_true = (row_total * grad).unsqueeze(1), -(on_target * grad).unsqueeze(1)
            if not torch.is_grad_enabled() and has_values(z, grad, weight):  # no graph: reuse the buffer
                grad_z = _softmax(z, in_place=True).mul_(scale).scatter_add_(1, target.unsqueeze(1), on_true)
            else:
                grad_z = (_softmax(z) * scale).scatter_add(1, target.unsqueeze(1), on_true)
            if smoothing > 0:
                uniform = (smoothing / classes) * (torch.where(keep, grad, torch.zeros_like(grad))).unsqueeze(1)
                grad_z = grad_z - (uniform if weight is None else uniform * _class_view(weight, z.dim()))
        if ctx.needs_input_grad[3]:
            minus_log_p = -torch.log_softmax(z, 1)
            kept_grad = torch.where(keep, grad, torch.zeros_like(grad))
            on_true = (1 - smoothing) * kept_grad * minus_log_p.gather(1, target.unsqueeze(1)).squeeze(1)
            grad_weight = torch.zeros_like(weight).scatter_add(0, target.reshape(-1), on_true.reshape(-1))
            if smoothing > 0:
                spread = minus_log_p * kept_grad.unsqueeze(1)
                other_dims = [d for d in range(z.dim()) if d != 1]
                grad_weight = grad_weight + (smoothing / classes) * spread.sum(other_dims)
        return grad_z, None, None, grad_weight, None

    @staticmethod
    def jvp(ctx, z_t, target_t, keep_t, weight_t, _):
        z, target, keep, weight = ctx.saved_tensors
        smoothing, classes = ctx.smoothing, z.shape[1]
        on_target, row_total = _row_coefficients(target, keep, weight, smoothing, classes, z.dtype)
        tangent = torch.zeros_like(on_target)
        if z_t is not None:
            along_softmax = (_softmax(z) * z_t).sum(1)
            on_true = z_t.gather(1, target.unsqueeze(1)).squeeze(1)
            tangent = tangent + row_total * along_softmax - on_target * on_true
            if smoothing > 0:
                spread = z_t if weight is None else z_t * _class_view(weight, z.dim())
                kept = keep.to(z.dtype)
                tangent = tangent - (smoothing / classes) * kept * spread.sum(1)
        if weight_t is not None:
            minus_log_p = -torch.log_softmax(z, 1)
            kept = keep.to(z.dtype)
            true_part = _per_sample(weight_t, target) * minus_log_p.gather(1, target.unsqueeze(1)).squeeze(1)
            tangent = tangent + (1 - smoothing) * kept * true_part
            if smoothing > 0:
                spread = (minus_log_p * _class_view(weight_t, z.dim())).sum(1)
                tangent = tangent + (smoothing / classes) * kept * spread
        return tangent.to(torch.float64)


def class_index_loss(z, target, ignore_index, weight, smoothing):
    """Per-sample float64 loss for class-index targets (any integer dtype)."""
    keep = target != ignore_index
    safe_target = torch.where(keep, target, torch.zeros_like(target)).long()
    return ClassIndexCrossEntropy.apply(z, safe_target, keep, weight, smoothing)


def probability_loss(z, target, weight, smoothing):
    """Per-sample float64 loss for class-probability targets, a plain composition of torch ops."""
    classes = z.shape[1]
    logits = z.double()
    if classes == 0:
        return logits.sum(1)  # no class, no loss (0 per sample, as torch)
    top, top_index = logits.max(1, keepdim=True)  # its gradient goes to the arg-max alone
    shifted = logits - top
    others = shifted.exp().scatter(1, top_index, 0.0).sum(1, keepdim=True)
    log_p = shifted - torch.log1p(others)
    a = target.double()
    if smoothing > 0:
        a = a * (1 - smoothing) + smoothing / classes
    if weight is not None:
        a = a * _class_view(weight.double(), z.dim())
    # a_j * log p_j is 0 where a_j is 0, even for a -inf logit (a masked class)
    return -torch.where(a != 0, a * log_p, torch.zeros_like(log_p)).sum(1)
