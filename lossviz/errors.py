"""The exceptions lossviz raises for bad arguments.

Each is the ValueError or TypeError it always was, and also a RuntimeError, which is what torch
raises for most of the same mistakes (a wrong shape, a target outside [0, 1]); a class index out
of range is also an IndexError, as in torch's ``nll_loss``. So code written for
``torch.nn.functional`` that catches ``RuntimeError`` keeps working after the swap, and code that
catches ``ValueError`` keeps working too.
"""
from __future__ import annotations

__all__ = ["LossvizValueError", "LossvizTypeError", "LossvizIndexError"]


class LossvizValueError(ValueError, RuntimeError):
    """An argument with the right type but a wrong value or shape."""


class LossvizTypeError(TypeError, RuntimeError):
    """An argument of the wrong type or dtype."""


class LossvizIndexError(LossvizValueError, IndexError):
    """A class index outside [0, C) (torch raises IndexError for it)."""
