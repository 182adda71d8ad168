"""Exercise self-checks: ``check.<exercise>(answer)`` gives feedback in the notebook's language.

An answer of ``None`` means "not attempted yet", so a notebook whose exercises are still stubs
runs top to bottom. Each notebook's exercises live in their own module here; a module registers
its checks with :func:`exercise` and they appear as ``lossviz.check.<name>``.
"""
import importlib
import pkgutil

from ._feedback import EXERCISES, Feedback, exercise

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")

globals().update(EXERCISES)
__all__ = ["Feedback", "exercise", "EXERCISES", *sorted(EXERCISES)]
