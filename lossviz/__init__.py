"""lossviz: why Sigmoid + BCELoss breaks, what to use instead, and the numbers behind it.

``lossviz.stable`` and ``lossviz.naive`` mirror torch.nn.functional's losses; ``lossviz.numerics``
computes the floating-point facts the notebooks teach; ``lossviz.errors`` holds the exceptions
(ValueError / TypeError subclasses that also match RuntimeError, as torch's own errors do). The figure and widget modules
(``plots``, ``widgets``, ``check``) import matplotlib and ipywidgets, so they load on first use.
"""
from importlib import import_module

from . import errors, naive, numerics, stable
from .diagnose import LossvizWarning, diagnose
from .i18n import get_language, set_language
from .targets import smoothed_targets

__all__ = ["stable", "naive", "numerics", "plots", "widgets", "check", "set_language", "get_language",
           "smoothed_targets", "diagnose", "LossvizWarning", "errors"]
__version__ = "0.1.0"


def __getattr__(name):
    if name in ("plots", "widgets", "check"):
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'lossviz' has no attribute {name!r}")
