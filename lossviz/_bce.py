"""Autograd Functions for binary cross-entropy: hand-derived gradients, written with differentiable
torch ops so that second derivatives, ``torch.func`` transforms and forward-mode AD all work.

Every Function here saves only its inputs: whatever the backward needs it recomputes from them,
so a Hessian-vector product differentiates the backward itself, not a stale constant.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ._validate import has_values

# |x| above which log1p(exp(-|x|)) < 2^-115: multiplied by a pos_weight or weight above 1 it can land
# in (or below) float32's subnormals after being rounded there once already; those few elements are
# recomputed in float64 and rounded once.
_TAIL = 80.0


def _may_modify(*tensors) -> bool:
    """In-place updates are safe in a backward only without a graph being recorded and without
    torch.func wrappers (whose levels in-place ops must respect)."""
    return not torch.is_grad_enabled() and has_values(*tensors)


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _scale(grad, reduction, count):
    # 'mean' and 'sum' hand back one number: multiply by it instead of expanding it to a tensor
    return grad / count if reduction == "mean" and count else grad


def _softplus_terms(x):
    """softplus(x) = -log(1 - sigma(x)) and softplus(-x) = -log sigma(x), differentiable."""
    return F.softplus(x), F.softplus(-x)


def _logits_terms(x, y, pos_weight):
    """Element-wise -[pw*y*log(sigmoid(x)) + (1-y)*log(1-sigmoid(x))], unweighted, for the forward.

    Each part is >= 0 and kept apart, so nothing cancels: log1p(exp(-|x|)) is never added to a
    number it could be lost against before the linear parts are in place."""
    if not has_values(x, y, pos_weight):
        return _logits_terms_out_of_place(x, y, pos_weight)
    buffer = x.abs().neg_()
    log_term = F.softplus(buffer)  # log1p(exp(-|x|))
    if pos_weight is None:
        linear = torch.clamp_min(x, 0, out=buffer)  # the buffer is free again: reuse it
        return linear.addcmul_(x, y, value=-1).add_(log_term)  # max(x, 0) - x*y + log term
    # (1 - y) * softplus(x) + pw*y * softplus(-x), softplus(+-x) = max(+-x, 0) + log term: both parts
    # >= 0. Three tensors of x's size live at a time (torch's own op: about 2.5).
    scaled_y = torch.mul(pos_weight, y, out=buffer)
    positive = x.neg().clamp_min_(0).add_(log_term).mul_(scaled_y)  # pw*y * softplus(-x)
    negative = log_term.add_(torch.clamp_min(x, 0, out=buffer))  # softplus(x)
    negative.mul_(torch.mul(y, -1, out=buffer).add_(1))  # * (1 - y)
    return negative.add_(positive)


def _logits_terms_out_of_place(x, y, pos_weight):
    """The same without in-place ops or out= (torch.func's vmap has no batching rule for those)."""
    log_term = F.softplus(-x.abs())
    if pos_weight is None:
        return x.clamp_min(0) - x * y + log_term
    scaled_y = pos_weight * y
    return (1 - y) * (x.clamp_min(0) + log_term) + scaled_y * ((-x).clamp_min(0) + log_term)


def _exact(x, y, weight, pos_weight):
    """The same loss in float64 (for the few elements in the far tails), weighted."""
    x, y = x.double(), y.double()
    log_term = torch.log1p(torch.exp(-x.abs()))
    scaled_y = y if pos_weight is None else pos_weight.double() * y
    loss = (1 - y) * x.clamp_min(0) + scaled_y * (-x).clamp_min(0) + (scaled_y + 1 - y) * log_term
    return loss if weight is None else loss * weight.double()


def _fix_tail(loss, x, y, weight, pos_weight):
    """Where a weight scales a loss that float32 already rounded near or into its subnormals, recompute
    it in float64 (only those elements when values can be read; everywhere under torch.func)."""
    if x.dtype == torch.float64 or x.numel() == 0:
        return loss
    expand = (lambda t: None if t is None else t.expand_as(x))
    weight, pos_weight = expand(weight), expand(pos_weight)
    if not has_values(x, y, weight, pos_weight, loss):
        tail = x.abs() > _TAIL
        return torch.where(tail, _exact(x, y, weight, pos_weight).to(loss.dtype), loss)
    low, high = torch.aminmax(x)
    if not (bool(low < -_TAIL) or bool(high > _TAIL)):
        return loss
    tail = x.abs() > _TAIL
    pick = (lambda t: None if t is None else t[tail])
    return loss.masked_scatter(tail, _exact(x[tail], y[tail], pick(weight), pick(pos_weight)).to(loss.dtype))


def _logits_loss_unweighted(x, y, pos_weight):
    """The loss with differentiable ops (for the backward's weight gradient and the jvp)."""
    softplus_x, softplus_minus_x = _softplus_terms(x)
    positive = softplus_minus_x if pos_weight is None else pos_weight * softplus_minus_x
    return y * positive + (1 - y) * softplus_x


def _logits_dx(x, y, pos_weight, in_place):
    """d loss / dx = sigma(x) - y, or (pw*y + 1 - y) sigma(x) - pw*y with pos_weight."""
    s = torch.sigmoid(x)
    if pos_weight is None:
        return s.sub_(y) if in_place else s - y
    scaled_y = pos_weight * y
    if in_place:
        return (scaled_y + 1).sub_(y).mul_(s).sub_(scaled_y)
    return (scaled_y + 1 - y) * s - scaled_y


def _logits_dy(x, pos_weight):
    """d loss / dy = -x without pos_weight; pw*softplus(-x) - softplus(x) with it."""
    if pos_weight is None:
        return -x
    softplus_x, softplus_minus_x = _softplus_terms(x)
    return pos_weight * softplus_minus_x - softplus_x


class BCEWithLogits(torch.autograd.Function):
    """Binary cross-entropy with logits, weighted and reduced; gradient sigma(x) - y."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, y, weight, pos_weight, reduction):
        loss = _logits_terms(x, y, pos_weight)
        if weight is not None:
            loss = loss.mul_(weight) if has_values(loss, weight) else loss * weight
        if weight is not None or pos_weight is not None:
            loss = _fix_tail(loss, x, y, weight, pos_weight)
        return _reduce(loss, reduction)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, y, weight, pos_weight, reduction = inputs
        ctx.save_for_backward(x, y, weight, pos_weight)
        ctx.save_for_forward(x, y, weight, pos_weight)
        ctx.reduction = reduction

    @staticmethod
    def backward(ctx, grad):
        x, y, weight, pos_weight = ctx.saved_tensors
        scale = _scale(grad, ctx.reduction, x.numel())
        weighted = scale if weight is None else scale * weight
        grad_x = grad_y = grad_weight = grad_pos_weight = None
        if ctx.needs_input_grad[0]:
            in_place = _may_modify(x, y, grad, weight, pos_weight)
            if in_place and pos_weight is not None:
                # the scale folded into the small factors first: w (pw*y + 1 - y) sigma(x) - w pw*y in
                # five passes over x instead of seven
                scaled_y = y * (pos_weight * weighted)
                coefficient = torch.addcmul(weighted, y, (pos_weight - 1) * weighted)
                grad_x = coefficient.mul_(torch.sigmoid(x)).sub_(scaled_y)
            else:
                dx = _logits_dx(x, y, pos_weight, in_place)
                grad_x = dx.mul_(weighted) if in_place else dx * weighted
        if ctx.needs_input_grad[1]:
            grad_y = _logits_dy(x, pos_weight) * weighted
        if ctx.needs_input_grad[2]:
            grad_weight = (_logits_loss_unweighted(x, y, pos_weight) * scale).sum_to_size(weight.shape)
        if ctx.needs_input_grad[3]:
            grad_pos_weight = (y * F.softplus(-x) * weighted).sum_to_size(pos_weight.shape)
        return grad_x, grad_y, grad_weight, grad_pos_weight, None

    @staticmethod
    def jvp(ctx, x_t, y_t, weight_t, pos_weight_t, _):
        x, y, weight, pos_weight = ctx.saved_tensors
        tangent = torch.zeros_like(x)
        if x_t is not None:
            tangent = tangent + _logits_dx(x, y, pos_weight, False) * x_t
        if y_t is not None:
            tangent = tangent + _logits_dy(x, pos_weight) * y_t
        if pos_weight_t is not None:
            tangent = tangent + y * F.softplus(-x) * pos_weight_t
        if weight is not None:
            tangent = tangent * weight
        if weight_t is not None:
            tangent = tangent + _logits_loss_unweighted(x, y, pos_weight) * weight_t
        return _reduce(tangent, ctx.reduction)


def _probability_dp(p, y):
    """-y/p + (1-y)/(1-p), each term 0 where its label weight is exactly 0 (no 0/0)."""
    positive = torch.where(y == 0, torch.zeros_like(p), -y / p)
    negative = torch.where(y == 1, torch.zeros_like(p), (1 - y) / (1 - p))
    return positive + negative


def _probability_dy(p):
    return torch.log1p(-p) - torch.log(p)


class BCEProbabilities(torch.autograd.Function):
    """Element-wise -[y log p + (1-y) log(1-p)] with 0 * log 0 = 0 and log1p for log(1 - p)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(p, y):
        return -(torch.xlogy(y, p) + torch.special.xlog1py(1 - y, -p))

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)
        ctx.save_for_forward(*inputs)

    @staticmethod
    def backward(ctx, grad):
        p, y = ctx.saved_tensors
        grad_p = _probability_dp(p, y) * grad if ctx.needs_input_grad[0] else None
        grad_y = _probability_dy(p) * grad if ctx.needs_input_grad[1] else None
        return grad_p, grad_y

    @staticmethod
    def jvp(ctx, p_t, y_t):
        p, y = ctx.saved_tensors
        tangent = torch.zeros_like(p)
        if p_t is not None:
            tangent = tangent + _probability_dp(p, y) * p_t
        if y_t is not None:
            tangent = tangent + _probability_dy(p) * y_t
        return tangent
