"""``lossviz.diagnose()``: watch the losses of a training step for the classic mistakes.

    with lossviz.diagnose() as report:
        loss = criterion(model(x), y)
        loss.backward()
    report.findings   # [Finding(code='double-softmax', ...)]

While the block runs, the four functions that every binary and categorical loss of torch reaches
are wrapped: ``torch.binary_cross_entropy_with_logits`` and ``torch._C._nn.binary_cross_entropy``,
``cross_entropy_loss`` and ``nll_loss_nd`` (``F.*`` and the ``nn.*Loss`` modules call these, also
when imported by name before the block). Each call is first run unchanged; then a few reductions
over its inputs (no copies, no gradient) look for the mistakes below. Each kind is reported once,
as a :class:`Finding` and a :class:`LossvizWarning`. Only losses computed on the thread that
entered the block are watched; every other op runs exactly as without ``diagnose``.

Why wrappers, not a ``torch.overrides.TorchFunctionMode``: a mode routes every op of the step
(each layer, ``zero_grad``'s ``.grad`` accesses, ``.item()``) through Python. On notebook 10's
models an empty mode alone adds 27-46% to a training step (``benchmarks/diagnose_overhead.py``);
the wrappers add a few microseconds per loss call.

Codes and rules (the notebook section that explains each is in ``Finding.section``):

- ``double-sigmoid``: the input of a logits loss came straight out of ``sigmoid`` (autograd history:
  ``SigmoidBackward0`` behind shape-only ops), or lay entirely in [0, 1] on 5 calls in a row.
- ``double-softmax``: the input of ``cross_entropy`` came out of ``softmax``, or is non-negative
  with every row summing to 1 (tolerance ``eps * (8 + sqrt(K))`` of its dtype, K classes).
- ``sigmoid-bce``: ``binary_cross_entropy`` was used at all; escalated when an input is exactly
  0 or 1 against a label that disagrees (loss 100 from torch's clamp, gradient 0).
- ``log-of-softmax``: NaN in a loss input; +-inf in a logits-loss input; -inf in the input of
  ``cross_entropy`` / ``nll_loss`` that made the loss infinite or came from ``torch.log``.
- ``all-ignored``: every class-index target equals ``ignore_index`` (the mean is NaN).
- ``target-range``: binary (with-logits) targets outside [0, 1].
- ``nll-without-log-softmax``: ``nll_loss`` input with positive entries, or rows whose
  logsumexp is not 0 (same tolerance as above).

Value checks are skipped where a tensor has no values to read (meta and fake tensors, inside
``torch.func`` transforms); the autograd-history checks still run there. Code that
``torch.compile`` traces is not checked at all (its graph would break on the checks).
"""
from __future__ import annotations

import functools
import math
import re
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import i18n

__all__ = ["diagnose", "Finding", "Report", "LossvizWarning", "CODES"]

NOTEBOOK = "11_common_mistakes"
SECTIONS = {
    "double-sigmoid": "§1", "double-softmax": "§2", "sigmoid-bce": "§3",
    "log-of-softmax": "§4", "nll-without-log-softmax": "§4", "all-ignored": "§5",
    "target-range": "§6",
}
CODES = tuple(SECTIONS)
_SIGMOID_CALLS_IN_A_ROW = 5  # probabilities-as-logits is only suspected after this many calls


class LossvizWarning(UserWarning):
    """A finding of :func:`diagnose`, so a training script sees it without code changes."""


@dataclass(frozen=True)
class Finding:
    """One mistake seen at run time: a stable ``code``, a message in the current language,
    the values that gave it away (``evidence``) and where a notebook explains it (``section``)."""

    code: str
    message: str
    evidence: dict = field(default_factory=dict)
    section: str = ""

    def __str__(self) -> str:
        return f"{self.code}: {self.message} [{self.section}]"


class Report:
    """What :func:`diagnose` saw: ``findings`` (one per kind) and ``calls`` (loss calls watched)."""

    def __init__(self):
        self.findings: list[Finding] = []
        self.calls = 0
        self._seen: set = set()
        self._in_unit_interval = 0

    @property
    def codes(self) -> list[str]:
        return [finding.code for finding in self.findings]

    def __repr__(self) -> str:
        if not self.findings:
            return i18n.pick({"en": "No findings in {calls} loss call(s).",
                              "ko": "손실 호출 {calls}번에서 발견된 문제가 없습니다."}, calls=self.calls)
        return "\n".join(str(finding) for finding in self.findings)


# --- what each finding says -----------------------------------------------------------------

MESSAGES = {
    "double-sigmoid": {
        "en": "The input of {loss} looks like probabilities ({why}), but it expects logits: "
              "the sigmoid is applied twice. Remove the final Sigmoid from the model.",
        "ko": "{loss}의 입력이 확률처럼 보이는데({why}), 이 손실은 로짓을 받습니다. 시그모이드가 두 번 "
              "적용됩니다. 모델 끝의 Sigmoid를 빼세요.",
    },
    "double-softmax": {
        "en": "The input of {loss} looks like probabilities ({why}), but it expects logits: the "
              "softmax is applied twice and the gradient shrinks. Pass the logits, no softmax.",
        "ko": "{loss}의 입력이 확률처럼 보이는데({why}), 이 손실은 로짓을 받습니다. 소프트맥스가 두 번 "
              "적용되어 그래디언트가 작아집니다. 소프트맥스 없이 로짓을 넘기세요.",
    },
    "sigmoid-bce": {
        "en": "binary_cross_entropy (BCELoss) takes probabilities; use binary_cross_entropy_with_logits "
              "(BCEWithLogitsLoss) on the logits instead, which cannot saturate.",
        "ko": "binary_cross_entropy(BCELoss)는 확률을 받습니다. 대신 로짓에 "
              "binary_cross_entropy_with_logits(BCEWithLogitsLoss)를 쓰세요. 포화되지 않습니다.",
    },
    "sigmoid-bce-saturated": {
        "en": "binary_cross_entropy got {count} input(s) of exactly 0 or 1 against a label that "
              "disagrees: torch clamps the log at -100, so each such loss is 100 and its gradient 0 "
              "(that example stops learning). Use binary_cross_entropy_with_logits on the logits.",
        "ko": "binary_cross_entropy에 정확히 0이나 1인 입력이 레이블과 반대로 {count}개 들어왔습니다. torch가 "
              "로그를 -100에서 자르므로 그 손실은 100, 그래디언트는 0입니다(그 샘플은 더 배우지 않습니다). "
              "로짓에 binary_cross_entropy_with_logits를 쓰세요.",
    },
    "log-of-softmax": {
        "en": "{what} reached {loss} ({count} entries): typically log(softmax(z)) or log(sigmoid(x)) "
              "computed by hand, where a probability rounded to 0. Use log_softmax / logsigmoid, or "
              "pass the logits to cross_entropy / binary_cross_entropy_with_logits.",
        "ko": "{loss}에 {what}이(가) 들어왔습니다({count}개). 흔히 log(softmax(z))나 log(sigmoid(x))를 직접 "
              "계산해서 확률이 0으로 반올림된 경우입니다. log_softmax / logsigmoid를 쓰거나, 로짓을 "
              "cross_entropy / binary_cross_entropy_with_logits에 넘기세요.",
    },
    "all-ignored": {
        "en": "Every target of {loss} equals ignore_index = {ignore_index}: nothing is learned, and "
              "the 'mean' loss is NaN. Check the padding and the ignore_index.",
        "ko": "{loss}의 타깃이 모두 ignore_index = {ignore_index}입니다. 아무것도 배우지 않고, "
              "'mean' 손실은 NaN입니다. 패딩과 ignore_index를 확인하세요.",
    },
    "target-range": {
        "en": "Targets of {loss} lie outside [0, 1] (from {low:g} to {high:g}); torch accepts them "
              "silently and the loss has no minimum. Map the labels to 0 and 1 (or use cross_entropy "
              "for class indices).",
        "ko": "{loss}의 타깃이 [0, 1] 밖에 있습니다({low:g}부터 {high:g}까지). torch는 오류 없이 받아들이고, "
              "손실에는 최솟값이 없어집니다. 레이블을 0과 1로 바꾸세요(클래스 번호라면 cross_entropy를 쓰세요).",
    },
    "nll-without-log-softmax": {
        "en": "The input of nll_loss is not log-probabilities ({why}). nll_loss only picks -input[target]; "
              "put log_softmax before it (LogSoftmax + NLLLoss = CrossEntropyLoss).",
        "ko": "nll_loss의 입력이 로그 확률이 아닙니다({why}). nll_loss는 -input[target]을 고를 뿐입니다. "
              "앞에 log_softmax를 두세요(LogSoftmax + NLLLoss = CrossEntropyLoss).",
    },
}
WHY = {
    "from_sigmoid": {"en": "it comes straight out of sigmoid", "ko": "sigmoid의 출력 그대로입니다"},
    "unit_interval": {"en": "every value in [0, 1] on {calls} calls in a row",
                      "ko": "{calls}번 연속으로 모든 값이 [0, 1] 안에 있습니다"},
    "from_softmax": {"en": "it comes straight out of softmax", "ko": "softmax의 출력 그대로입니다"},
    "rows_sum_to_one": {"en": "non-negative, every row sums to 1", "ko": "음수가 없고 모든 행의 합이 1입니다"},
    "positive": {"en": "largest entry {largest:.3g} > 0", "ko": "가장 큰 값 {largest:.3g} > 0"},
    "logsumexp": {"en": "logsumexp of a row is {worst:.3g}, not 0",
                  "ko": "한 행의 logsumexp가 0이 아니라 {worst:.3g}입니다"},
    "nan": {"en": "NaN", "ko": "NaN"},
    "inf": {"en": "an infinite value", "ko": "무한대 값"},
}


# --- looking at tensors ---------------------------------------------------------------------

# autograd nodes that only move or copy values: what came before them is what the loss sees
_SHAPE_ONLY = {"View", "UnsafeView", "ReshapeAlias", "Squeeze", "Unsqueeze", "Expand", "Select", "Slice",
               "T", "Transpose", "Permute", "Clone", "ToCopy", "AsStrided", "Alias"}
_BACKWARD_SUFFIX = re.compile(r"Backward\d+$")


_shape_only_types: dict = {}  # node type -> whether it only reshapes (the regex once per type)


def _producer(tensor) -> str | None:
    """The autograd node that made ``tensor``, shape-only steps skipped: 'SigmoidBackward0', ..."""
    try:
        node = tensor.grad_fn
        for _ in range(8):
            if node is None:
                return None
            kind = type(node)
            shape_only = _shape_only_types.get(kind)
            if shape_only is None:
                shape_only = _shape_only_types[kind] = _BACKWARD_SUFFIX.sub("", kind.__name__) in _SHAPE_ONLY
            if not shape_only:
                return kind.__name__
            node = node.next_functions[0][0] if node.next_functions else None
    except (AttributeError, RuntimeError, IndexError):
        return None
    return None


def _has_values(*tensors) -> bool:
    """Whether reading values is possible and harmless: plain tensors with storage, no tracing."""
    if torch.compiler.is_compiling():
        return False
    for tensor in tensors:
        if not isinstance(tensor, torch.Tensor):
            continue
        if type(tensor) not in (torch.Tensor, torch.nn.Parameter) or tensor.device.type == "meta":
            return False
        if torch._C._functorch.is_functorch_wrapped_tensor(tensor):
            return False
    return True


def _tolerance(tensor, classes: int) -> float:
    """How far a softmax row's sum may stray from 1 (or a log_softmax row's logsumexp from 0)."""
    return torch.finfo(tensor.dtype).eps * (8 + math.sqrt(classes))


def _accumulator(tensor):
    return torch.float64 if tensor.dtype == torch.float64 else torch.float32


def _class_dim(tensor) -> int:
    return 0 if tensor.dim() == 1 else 1


def _read(statistics) -> list[float]:
    """Scalar tensors as Python floats, with one device synchronisation for all of them."""
    exact = torch.float32 if statistics[0].device.type == "mps" else torch.float64  # MPS has no float64
    return torch.stack([value.to(exact) for value in statistics]).tolist()


def _arg(args, kwargs, position, name, default=None):
    if name in kwargs:
        return kwargs[name]
    return args[position] if len(args) > position else default


# --- the checks, one per loss family --------------------------------------------------------

class _Watcher:
    def __init__(self, report: Report, warn: bool, max_overhead: float | None):
        self.report = report
        self.warn = warn
        self.max_overhead = max_overhead
        self.started = time.perf_counter()
        self.checking_seconds = 0.0

    def seen(self, handler, spec, args, kwargs, result):
        """One loss call, already computed: its checks, within the time budget for reading values."""
        self.report.calls += 1
        began = time.perf_counter()
        budget = None if self.max_overhead is None else self.max_overhead * (began - self.started)
        read_values = budget is None or self.checking_seconds <= budget
        if read_values:
            with torch.no_grad():
                handler(self, spec, args, kwargs, result, read_values)
        else:  # only the autograd history is looked at: no op runs, so no no_grad (5 us a call in a loop)
            handler(self, spec, args, kwargs, result, read_values)
        self.checking_seconds += time.perf_counter() - began

    def found(self, code: str, evidence: dict, template: str | None = None, **fields):
        key = template or code
        if key in self.report._seen:
            return
        self.report._seen.add(key)
        message = i18n.pick(MESSAGES[key], **fields)
        finding = Finding(code, message, evidence, f"{NOTEBOOK} {SECTIONS[code]}")
        self.report.findings.append(finding)
        if self.warn:
            warnings.warn(LossvizWarning(str(finding)), stacklevel=_user_stacklevel())

    def binary(self, spec, args, kwargs, result, read_values):
        name, logits = spec
        input, target = _arg(args, kwargs, 0, "input"), _arg(args, kwargs, 1, "target")
        loss = f"F.{name}"
        if not logits:
            self.found("sigmoid-bce", {"function": loss})
        elif _producer(input) == "SigmoidBackward0":
            self.found("double-sigmoid", {"producer": "SigmoidBackward0"}, loss=loss,
                       why=i18n.pick(WHY["from_sigmoid"]))
        if not (read_values and input.numel() and _has_values(input, target)):
            return
        low, high, target_low, target_high = _read([*torch.aminmax(input), *torch.aminmax(target)])
        if math.isnan(low) or (logits and (math.isinf(low) or math.isinf(high))):
            count = int((input.isnan() | input.isinf()).sum()) if logits else int(input.isnan().sum())
            self.found("log-of-softmax", {"min": low, "max": high, "count": count}, loss=loss,
                       what=i18n.pick(WHY["nan" if math.isnan(low) else "inf"]), count=count)
        if target_low < 0 or target_high > 1:
            self.found("target-range", {"target_min": target_low, "target_max": target_high}, loss=loss,
                       low=target_low, high=target_high)
        if not logits and (low == 0 or high == 1) and "sigmoid-bce-saturated" not in self.report._seen:
            saturated = int(((input == 1) & (target < 1) | (input == 0) & (target > 0)).sum())
            if saturated:
                self.found("sigmoid-bce", {"saturated": saturated, "of": input.numel()}, "sigmoid-bce-saturated",
                           count=saturated)
        if logits and "double-sigmoid" not in self.report._seen:
            in_unit = 0 <= low and high <= 1
            self.report._in_unit_interval = self.report._in_unit_interval + 1 if in_unit else 0
            if self.report._in_unit_interval >= _SIGMOID_CALLS_IN_A_ROW:
                self.found("double-sigmoid", {"min": low, "max": high, "calls": _SIGMOID_CALLS_IN_A_ROW},
                           loss=loss, why=i18n.pick(WHY["unit_interval"], calls=_SIGMOID_CALLS_IN_A_ROW))

    def categorical(self, spec, args, kwargs, result, read_values):
        name, ignore_position = spec
        input, target = _arg(args, kwargs, 0, "input"), _arg(args, kwargs, 1, "target")
        ignore_index = _arg(args, kwargs, ignore_position, "ignore_index", -100)
        nll = name == "nll_loss"
        loss = f"F.{name}"
        producer = _producer(input)
        if producer == "SoftmaxBackward0":
            if nll:
                self.found("nll-without-log-softmax", {"producer": producer}, why=i18n.pick(WHY["from_softmax"]))
            else:
                self.found("double-softmax", {"producer": producer}, loss=loss, why=i18n.pick(WHY["from_softmax"]))
        if not (read_values and input.numel() and _has_values(input, target, result)):
            return
        dim = _class_dim(input)
        classes = input.shape[dim]
        tolerance = _tolerance(input, classes)
        class_indices = not target.is_floating_point()
        if nll:  # a row of log-probabilities has logsumexp 0
            row_error = torch.logsumexp(input.to(_accumulator(input)), dim).abs().nan_to_num(math.inf).amax()
        else:  # a row of probabilities sums to 1
            row_error = (input.sum(dim, dtype=_accumulator(input)) - 1).abs().amax()
        kept = (target != ignore_index).any() if class_indices else row_error
        low, high, finite, row_error, kept = _read([*torch.aminmax(input), result.isfinite().all(), row_error, kept])
        if math.isnan(low) or (low == -math.inf and (not finite or producer == "LogBackward0")):
            count = int(input.isnan().sum()) if math.isnan(low) else int((input == -math.inf).sum())
            self.found("log-of-softmax", {"min": low, "count": count, "loss_finite": bool(finite),
                                          "producer": producer},
                       loss=loss, what=i18n.pick(WHY["nan" if math.isnan(low) else "inf"]), count=count)
        if class_indices and not kept:
            self.found("all-ignored", {"ignore_index": ignore_index, "targets": target.numel()}, loss=loss,
                       ignore_index=ignore_index)
        if nll and math.isfinite(low) and (high > tolerance or row_error > tolerance):
            why = (i18n.pick(WHY["positive"], largest=high) if high > tolerance
                   else i18n.pick(WHY["logsumexp"], worst=row_error))
            self.found("nll-without-log-softmax", {"max": high, "max_abs_logsumexp": row_error,
                                                   "tolerance": tolerance}, why=why)
        if not nll and classes >= 2 and low >= 0 and row_error <= tolerance:
            self.found("double-softmax", {"min": low, "max_abs_row_sum_minus_1": row_error,
                                          "tolerance": tolerance}, loss=loss, why=i18n.pick(WHY["rows_sum_to_one"]))


_BINARY, _CATEGORICAL = _Watcher.binary, _Watcher.categorical
# (module, attribute, checks, spec): the functions every F.* loss and nn.*Loss module reaches.
# ignore_index is argument 4 of cross_entropy_loss and of nll_loss_nd / nll_loss / nll_loss2d.
_WATCHED = (
    (torch._C._nn, "binary_cross_entropy", _BINARY, ("binary_cross_entropy", False)),
    (torch, "binary_cross_entropy_with_logits", _BINARY, ("binary_cross_entropy_with_logits", True)),
    (torch._C._nn, "cross_entropy_loss", _CATEGORICAL, ("cross_entropy", 4)),
    (torch._C._nn, "nll_loss_nd", _CATEGORICAL, ("nll_loss", 4)),
    (torch._C._nn, "nll_loss", _CATEGORICAL, ("nll_loss", 4)),
    (torch._C._nn, "nll_loss2d", _CATEGORICAL, ("nll_loss", 4)),
)

# The watchers of each thread (innermost last); the wrappers are installed while any block is open.
_local = threading.local()
_install_lock = threading.Lock()
_open_blocks = 0
_originals: dict = {}


def _wrap(original, handler, spec):
    @functools.wraps(original)
    def watched(*args, **kwargs):
        result = original(*args, **kwargs)
        if torch.compiler.is_compiling():  # torch.compile traces this: keep the checks out of its graph
            return result
        for watcher in getattr(_local, "watchers", ()):
            watcher.seen(handler, spec, args, kwargs, result)
        return result

    watched.__lossviz_original__ = original
    return watched


def _install():
    global _open_blocks
    with _install_lock:
        _open_blocks += 1
        if _open_blocks > 1:
            return
        for module, name, handler, spec in _WATCHED:
            original = getattr(module, name, None)
            if original is None:  # a torch without this entry point
                continue
            _originals[(module, name)] = original
            setattr(module, name, _wrap(original, handler, spec))


def _uninstall():
    global _open_blocks
    with _install_lock:
        _open_blocks -= 1
        if _open_blocks > 0:
            return
        for (module, name), original in _originals.items():
            # someone who wrapped it after us keeps their wrapper (which calls ours, now inert)
            if getattr(getattr(module, name, None), "__lossviz_original__", None) is original:
                setattr(module, name, original)
        _originals.clear()


_OWN_FILES = (str(Path(torch.__file__).parent), str(Path(__file__).parent))


def _user_stacklevel() -> int:
    """How many frames up the warning should point: the first frame outside torch and lossviz."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_OWN_FILES):
        frame, level = frame.f_back, level + 1
    return level


# --- the context manager --------------------------------------------------------------------

class diagnose:  # noqa: N801 (used like a function: ``with lossviz.diagnose() as report``)
    """Watch the losses computed inside the block; ``as report`` gives the :class:`Report`.

    Args:
        warn: also issue one :class:`LossvizWarning` per finding (default True).
        max_overhead: the share of the block's time the value checks may take (default 0.02).
            Where a step is tiny, some loss calls are then left unread (the checks of the
            autograd history still run on every call); ``None`` reads every call.

    The computation is unchanged: each loss runs first, then its inputs are inspected without
    gradient. Example::

        >>> with lossviz.diagnose(warn=False) as report:
        ...     F.cross_entropy(torch.softmax(torch.randn(4, 3), 1), torch.tensor([0, 1, 2, 0]))
        >>> report.codes
        ['double-softmax']
    """

    def __init__(self, *, warn: bool = True, max_overhead: float | None = 0.02):
        if not isinstance(warn, bool):
            raise TypeError(f"diagnose(): argument 'warn' must be True or False, got {warn!r}")
        if max_overhead is not None and not (isinstance(max_overhead, (int, float)) and 0 < max_overhead):
            raise ValueError(f"diagnose(): argument 'max_overhead' must be a positive number or None, "
                             f"got {max_overhead!r}")
        self.report = Report()
        self._watcher = _Watcher(self.report, warn, max_overhead)
        self._entered = False

    def __enter__(self) -> Report:
        if self._entered:
            raise RuntimeError("diagnose(): this block is already open; use a new diagnose() for a nested block")
        self._entered = True
        self._watcher.started = time.perf_counter()
        _install()
        _local.watchers = (*getattr(_local, "watchers", ()), self._watcher)
        return self.report

    def __exit__(self, *exc_info):
        _local.watchers = tuple(w for w in getattr(_local, "watchers", ()) if w is not self._watcher)
        _uninstall()
        self._entered = False
        return False
