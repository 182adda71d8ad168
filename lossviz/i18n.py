"""Korean / English strings, the current language, and a Hangul font for matplotlib."""
from __future__ import annotations

LANGUAGES = ("en", "ko")
_language = "en"


def set_language(language: str) -> None:
    """Switch plot labels, widget labels and exercise feedback to ``"ko"`` or ``"en"``."""
    global _language
    if language not in LANGUAGES:
        raise ValueError(f"set_language(): argument 'language' must be 'en' or 'ko', got {language!r}")
    _language = language


def get_language() -> str:
    return _language
