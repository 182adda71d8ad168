"""Korean / English: the current language, shared strings, and a Hangul font for matplotlib.

Modules keep their own strings as ``{"en": ..., "ko": ...}`` dictionaries and read them with
:func:`pick`; the strings several modules share live here. Terms follow notebooks/GLOSSARY.md.
"""
from __future__ import annotations

import importlib.metadata

LANGUAGES = ("en", "ko")
_language = "en"

SHARED = {
    "en": {
        "logit": "logit x",
        "loss": "loss",
        "gradient": "gradient dL/dx",
        "exact": "exact",
        "textbook": "textbook −[y log p + (1−y) log(1−p)]",
        "torch_bce": "torch Sigmoid + BCELoss",
        "torch_bce_logits": "torch BCEWithLogitsLoss",
        "logits_form": "logits form (lossviz.stable)",
        "log_form": "log(1 + e^−|x|), no log1p",
        "class": "class",
        "invalid": "Not drawn: {reason}",
        "not_finite": "{name} must be a finite number, got {value}",
        "out_of_range": "{name} must lie between {low:g} and {high:g}, got {value:g}",
        "unexpected": "Could not draw this setting ({error}); the previous figure stays.",
    },
    "ko": {
        "logit": "로짓 x",
        "loss": "손실",
        "gradient": "그래디언트 dL/dx",
        "exact": "정확한 값",
        "textbook": "교과서 공식 −[y log p + (1−y) log(1−p)]",
        "torch_bce": "torch Sigmoid + BCELoss",
        "torch_bce_logits": "torch BCEWithLogitsLoss",
        "logits_form": "로짓 형태 (lossviz.stable)",
        "log_form": "log(1 + e^−|x|), log1p 없이",
        "class": "클래스",
        "invalid": "그리지 않았습니다: {reason}",
        "not_finite": "{name} 값은 유한한 수여야 합니다. 입력값: {value}",
        "out_of_range": "{name} 값은 {low:g}에서 {high:g} 사이여야 합니다. 입력값: {value:g}",
        "unexpected": "이 설정으로는 그릴 수 없습니다 ({error}). 이전 그림을 그대로 둡니다.",
    },
}


def set_language(language: str) -> None:
    """Switch plot labels, widget labels and exercise feedback to ``"ko"`` or ``"en"``.

    Explorers and checks created afterwards use it unless given ``lang=`` themselves.
    """
    global _language
    _language = resolve(language)


def get_language() -> str:
    return _language


def resolve(language: str | None) -> str:
    """``language`` itself if given, else the current one; anything else is a clear ValueError."""
    if language is None:
        return _language
    if language not in LANGUAGES:
        raise ValueError(f"language must be 'en' or 'ko', got {language!r}")
    return language


def pick(strings: dict, language: str | None = None, **fields) -> str:
    """The string for the language from ``{"en": ..., "ko": ...}``, formatted with ``fields``."""
    template = strings[resolve(language)]
    return template.format(**fields) if fields else template


def shared(key: str, language: str | None = None, **fields) -> str:
    return pick({lang: SHARED[lang][key] for lang in LANGUAGES}, language, **fields)


_font_ready = False


def use_hangul_font() -> None:
    """Register NanumGothic for Hangul: DejaVu Sans first, NanumGothic behind it.

    The font files come from the koreanize-matplotlib wheel, found through its installed file
    list: importing that module would import distutils, gone in Python 3.12. The order matters:
    matplotlib falls back glyph by glyph along ``font.family``, so Hangul comes from NanumGothic,
    but mathtext (the 10^-2 labels of log axes) uses the first family alone, and NanumGothic has
    no U+2212 MINUS SIGN. With DejaVu Sans first every minus sign is real and no "Glyph missing"
    warning appears in either language. All weights are registered, since matplotlib's "bold"
    (700) is NanumGothic ExtraBold.
    """
    global _font_ready
    if _font_ready:
        return
    import matplotlib
    from matplotlib import font_manager

    files = importlib.metadata.files("koreanize-matplotlib") or []
    fonts = [f for f in files if f.name.startswith("NanumGothic") and f.name.endswith(".ttf")]
    if not any(f.name == "NanumGothic.ttf" for f in fonts):
        raise RuntimeError("NanumGothic.ttf was not found in the koreanize-matplotlib package; "
                           "reinstall it: pip install koreanize-matplotlib")
    for font in fonts:
        font_manager.fontManager.addfont(str(font.locate()))
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", "NanumGothic"]
    _font_ready = True
