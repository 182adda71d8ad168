"""The machinery behind every exercise check: a Feedback value and a few comparison helpers."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from numbers import Real

import torch

from .. import i18n

EXERCISES: dict = {}

# Symbols DejaVu Sans has, so they show on machines without an emoji font (lab PCs, projectors)
MARKS = {"correct": "✔", "incorrect": "✘", "not_attempted": "○", "invalid": "⚠"}
NOT_ATTEMPTED = {"en": "Not attempted yet: replace None with your answer and run the cell again.",
                 "ko": "아직 풀지 않았습니다. None 자리에 답을 넣고 셀을 다시 실행하세요."}


@dataclass(frozen=True)
class Feedback:
    """The outcome of a check. Shows as one line (text/plain), so nbval can compare it."""

    status: str  # "correct" | "incorrect" | "not_attempted" | "invalid"
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "correct"

    def __repr__(self) -> str:
        return f"{MARKS[self.status]} {self.message}"


def say(en: str, ko: str, **fields) -> str:
    return i18n.pick({"en": en, "ko": ko}, **fields)


def correct(en: str, ko: str, **fields) -> Feedback:
    return Feedback("correct", say(en, ko, **fields))


def incorrect(en: str, ko: str, **fields) -> Feedback:
    return Feedback("incorrect", say(en, ko, **fields))


def invalid(en: str, ko: str, **fields) -> Feedback:
    return Feedback("invalid", say(en, ko, **fields))


def exercise(check=None, *, takes_number: bool = False):
    """Registers ``check(answer)`` as ``lossviz.check.<name>``: None is "not attempted", and an
    exception inside the check (a student's function that raises, say) becomes feedback.

    With ``takes_number=True`` (``@exercise(takes_number=True)``) the check receives the answer as a
    float (a Python number or a one-element tensor); anything else is answered "invalid" here.
    """
    if check is None:
        return lambda function: exercise(function, takes_number=takes_number)

    @functools.wraps(check)
    def wrapper(answer=None, *args, **kwargs):
        if answer is None:
            return Feedback("not_attempted", i18n.pick(NOT_ATTEMPTED))
        if takes_number:
            value = as_number(answer)
            if value is None:
                return invalid("Expected a number, got {kind}.", "숫자를 넣어야 합니다. 입력: {kind}",
                               kind=type(answer).__name__)
            answer = value
        try:
            return check(answer, *args, **kwargs)
        except Exception as error:  # the student's code, not ours: report it, never a traceback
            return invalid("Your answer raised {kind}: {error}", "답을 실행하다가 {kind} 오류가 났습니다: {error}",
                           kind=type(error).__name__, error=error)

    EXERCISES[check.__name__] = wrapper
    return wrapper


def as_number(answer) -> float | None:
    """A real number from a Python number or a one-element tensor; None for anything else."""
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        return float(answer.item())
    if isinstance(answer, Real) and not isinstance(answer, bool):
        return float(answer)
    return None


def number(answer, expected: float, *, rel: float = 1e-6, absolute: float = 0.0, what: tuple[str, str]):
    """Feedback for a numeric answer; ``what`` names the quantity in English and Korean."""
    value = as_number(answer)
    if value is None:
        return invalid("Expected a number for {what}, got {kind}.", "{what}에는 숫자를 넣어야 합니다. 입력: {kind}",
                       what=i18n.pick({"en": what[0], "ko": what[1]}), kind=type(answer).__name__)
    if math.isclose(value, expected, rel_tol=rel, abs_tol=absolute) or (math.isnan(value) and math.isnan(expected)):
        return correct("Correct: {what} = {value:.6g}.", "정답입니다: {what} = {value:.6g}.",
                       what=i18n.pick({"en": what[0], "ko": what[1]}), value=value)
    return None  # let the exercise give its own hint


def tensor_close(answer, expected: torch.Tensor, *, rtol=1e-5, atol=1e-7) -> str | None:
    """None if ``answer`` matches ``expected`` (shape and values, NaN equal to NaN); else why not."""
    if not isinstance(answer, torch.Tensor):
        return say("expected a tensor, got {kind}", "텐서를 기대했지만 {kind}이(가) 왔습니다", kind=type(answer).__name__)
    if answer.shape != expected.shape:
        return say("expected shape {expected}, got {shape}", "모양(shape)이 {expected}여야 하는데 {shape}입니다",
                   expected=tuple(expected.shape), shape=tuple(answer.shape))
    if not torch.allclose(answer.detach().to(expected.dtype), expected, rtol=rtol, atol=atol, equal_nan=True):
        worst = (answer.detach().to(expected.dtype) - expected).abs().nan_to_num(nan=math.inf).max().item()
        return say("values differ (largest difference {worst:.3g})", "값이 다릅니다 (최대 차이 {worst:.3g})", worst=worst)
    return None
