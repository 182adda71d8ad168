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
    float (a Python number, a one-element tensor or array); anything else (a string, a bool, a
    complex number, a multi-element tensor, an integer too large for a float, NaN) is answered
    "invalid" here, with the reason, in the notebook's language. Infinities reach the check: a
    boundary exercise can say why inf is not the boundary.
    """
    if check is None:
        return lambda function: exercise(function, takes_number=takes_number)

    @functools.wraps(check)
    def wrapper(answer=None, *args, **kwargs):
        if answer is None:
            return Feedback("not_attempted", i18n.pick(NOT_ATTEMPTED))
        try:
            if takes_number:
                value, problem = read_number(answer)
                if problem is None and math.isnan(value):
                    problem = ("NaN is not an answer here: give a number such as 5.0.",
                               "NaN은(는) 답이 될 수 없습니다. 5.0 같은 숫자를 넣으세요.")
                if problem is not None:
                    return invalid(*problem)
                answer = value
            return check(answer, *args, **kwargs)
        except Exception as error:  # the student's code, not ours: report it, never a traceback
            return invalid("Your answer raised {kind}: {error}", "답을 실행하다가 {kind}이(가) 발생했습니다: {error}",
                           kind=type(error).__name__, error=error)

    wrapper.takes_number = takes_number
    EXERCISES[check.__name__] = wrapper
    return wrapper


def read_number(answer) -> tuple[float | None, tuple[str, str] | None]:
    """``(value, None)`` for a real number, else ``(None, (english, korean))`` saying why not.

    Accepts Python and numpy real numbers and one-element real tensors or arrays (on any device).
    Never raises: a student's answer may be anything.
    """
    kind = type(answer).__name__
    container = ("a tensor", "텐서") if isinstance(answer, torch.Tensor) else ("an array", "배열")
    if isinstance(answer, bool):
        return None, ("Expected a number, got the bool {value}.".format(value=answer),
                      "숫자를 넣어야 합니다. 입력: bool 값 {value}".format(value=answer))
    if isinstance(answer, torch.Tensor) or type(answer).__module__ == "numpy":
        shape = tuple(getattr(answer, "shape", ()))
        if math.prod(shape) != 1:
            return None, ("Expected one number, got {kind} of shape {shape}.".format(kind=container[0], shape=shape),
                          "숫자 하나를 넣어야 합니다. 입력: 모양(shape) {shape}의 {kind}".format(kind=container[1], shape=shape))
        try:
            answer = answer.item()
        except Exception as error:  # a meta tensor, say: it has no value to read
            return None, ("Expected a number, got {kind} without a value ({error}).".format(kind=container[0], error=error),
                          "숫자를 넣어야 합니다. 입력: 값을 읽을 수 없는 {kind} ({error})".format(kind=container[1], error=error))
        if isinstance(answer, bool):
            return None, ("Expected a number, got {kind} holding a boolean ({value}).".format(kind=container[0], value=answer),
                          "숫자를 넣어야 합니다. 입력: 불리언 {kind} ({value})".format(kind=container[1], value=answer))
    if isinstance(answer, complex):
        return None, ("Expected a real number, got the complex number {value}.".format(value=answer),
                      "실수를 넣어야 합니다. 입력: 복소수 {value}".format(value=answer))
    if not isinstance(answer, Real):
        return None, ("Expected a number, got {kind}.".format(kind=kind),
                      "숫자를 넣어야 합니다. 입력: {kind}".format(kind=kind))
    try:
        return float(answer), None
    except OverflowError:
        size = _magnitude(answer)
        return None, ("{size} is too large for a float (the largest is about 1.8e308).".format(size=size or "This number"),
                      "{size}은(는) float로 나타내기에 너무 큽니다 (최댓값은 약 1.8e308).".format(size=size or "이 수"))
    except (TypeError, ValueError) as error:
        return None, ("Expected a number, got {kind} ({error}).".format(kind=kind, error=error),
                      "숫자를 넣어야 합니다. 입력: {kind} ({error})".format(kind=kind, error=error))


def _magnitude(huge) -> str | None:
    """``huge`` as "10^400" (formatting it as a float would overflow again); None if unknown."""
    try:
        exponent = math.log10(abs(huge.numerator)) - math.log10(huge.denominator)
        return "10^{:d}".format(math.floor(exponent))
    except (AttributeError, OverflowError, ValueError, TypeError):
        return None


def as_number(answer) -> float | None:
    """A real number from a Python number or a one-element tensor; None for anything else. Never raises."""
    return read_number(answer)[0]


def number(answer, expected: float, *, rel: float = 1e-6, absolute: float = 0.0, what: tuple[str, str]):
    """Feedback for a numeric answer; ``what`` names the quantity in English and Korean."""
    value, problem = read_number(answer)
    if problem is not None:
        return invalid("For {what}: {problem}", "{what}: {problem}", what=i18n.pick({"en": what[0], "ko": what[1]}),
                       problem=i18n.pick({"en": problem[0], "ko": problem[1]}))
    if math.isclose(value, expected, rel_tol=rel, abs_tol=absolute) or (math.isnan(value) and math.isnan(expected)):
        return correct("Correct: {what} = {value:.6g}.", "정답입니다: {what} = {value:.6g}.",
                       what=i18n.pick({"en": what[0], "ko": what[1]}), value=value)
    return None  # let the exercise give its own hint


def tensor_close(answer, expected: torch.Tensor, *, rtol=1e-5, atol=1e-7) -> str | None:
    """None if ``answer`` matches ``expected`` (shape and values, NaN equal to NaN); else why not."""
    if not isinstance(answer, torch.Tensor):
        return say("expected a tensor, got {kind}", "텐서를 기대했지만 {kind}이(가) 왔습니다", kind=type(answer).__name__)
    if answer.shape != expected.shape:
        return say("expected shape {expected}, got {shape}", "모양(shape)이 다릅니다. 기대한 모양: {expected}, 받은 모양: {shape}",
                   expected=tuple(expected.shape), shape=tuple(answer.shape))
    if not torch.allclose(answer.detach().to(expected.dtype), expected, rtol=rtol, atol=atol, equal_nan=True):
        worst = (answer.detach().to(expected.dtype) - expected).abs().nan_to_num(nan=math.inf).max().item()
        return say("values differ (largest difference {worst:.3g})", "값이 다릅니다 (최대 차이 {worst:.3g})", worst=worst)
    return None
