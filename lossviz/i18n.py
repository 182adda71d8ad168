"""Korean / English: the current language, shared strings, and a Hangul font for matplotlib.

Modules keep their own strings as ``{"en": ..., "ko": ...}`` dictionaries and read them with
:func:`pick`; the strings several modules share live here. Terms follow notebooks/GLOSSARY.md.
"""
from __future__ import annotations

import importlib.metadata
import re

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
        "out_of_range": "{name} must lie between {low:,g} and {high:,g}, got {value:,g}",
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
        "out_of_range": "{name} 값은 {low:,g}에서 {high:,g} 사이여야 합니다. 입력값: {value:,g}",
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
    """The string for the language from ``{"en": ..., "ko": ...}``, formatted with ``fields``.

    Korean templates write a particle after a field in both forms, ``{value}이(가)``, and get the
    one that fits what was filled in (see :func:`josa`): "0.8은", "모양 (3,)을", "NaN이".
    """
    language = resolve(language)
    template = strings[language]
    text = template.format(**fields) if fields else template
    return josa(text) if language == "ko" else text


# Korean particles come in pairs: the first after a final consonant (받침), the second after a
# vowel. Templates write both, "이(가)"; josa() keeps the one that fits the word before it.
_PARTICLES = {"이(가)": ("이", "가"), "을(를)": ("을", "를"), "은(는)": ("은", "는"),
              "과(와)": ("과", "와"), "(으)로": ("으로", "로"), "아(야)": ("아", "야")}
_PARTICLE_PATTERN = re.compile("|".join(re.escape(p) for p in _PARTICLES))
# How a digit is read (영 일 이 삼 사 오 육 칠 팔 구): True where that reading ends in a consonant,
# "l" where it ends in ㄹ (which takes 로, not 으로).
_DIGIT_FINAL = {"0": True, "1": "l", "2": False, "3": True, "4": False, "5": False,
                "6": True, "7": "l", "8": "l", "9": False}
# 10, 100, 1000, 10000 are read 십, 백, 천, 만: all end in a consonant.
# Latin letters read by name or as in loanwords: L 엘, M 엠, N 엔 (NaN 난, None 논), R 알.
_LATIN_FINAL = {"l": "l", "m": True, "n": True, "r": "l"}
# Whole words whose reading the letter rules get wrong: None is 논.
_WORD_FINAL = {"none": True}
_SKIPPED = set(" )]}'\"`’”,.:;!?…")


def _final_sound(word: str):
    """True (a final consonant), "l" (final ㄹ) or False (a vowel) for how ``word`` ends aloud."""
    end = len(word)
    while end and word[end - 1] in _SKIPPED:
        end -= 1
    if not end:
        return False
    last = word[end - 1]
    if "가" <= last <= "힣":
        final = (ord(last) - 0xAC00) % 28
        return "l" if final == 8 else bool(final)
    if last.isdigit():
        digits = re.search(r"[0-9]+(?:\.[0-9]+)?$", word[:end]).group()
        if "." not in digits and len(digits) > 1 and digits.endswith("0"):
            return True  # 십, 백, 천, 만
        return _DIGIT_FINAL[last]
    if last.isascii() and last.isalpha():
        word_end = re.search(r"[A-Za-z]+$", word[:end]).group().lower()
        if word_end in _WORD_FINAL:
            return _WORD_FINAL[word_end]
        if end >= 2 and word[end - 2].isalpha():
            return _LATIN_FINAL.get(last.lower(), False) if last.lower() in "lmn" else False
        return _LATIN_FINAL.get(last.lower(), False) if last.isupper() else False
    return False


def josa(text: str) -> str:
    """Resolve every two-form particle in ``text``: ``josa("0.8은(는)")`` is ``"0.8은"``.

    >>> josa("모양 (3,)을(를) 받았습니다, NaN이(가) 나왔고 x은(는) 2(으)로 나눕니다")
    '모양 (3,)을 받았습니다, NaN이 나왔고 x는 2로 나눕니다'
    """
    def choose(match):
        after_consonant, after_vowel = _PARTICLES[match.group()]
        final = _final_sound(text[: match.start()])
        if match.group() == "(으)로":
            return after_consonant if final is True else after_vowel
        return after_consonant if final else after_vowel

    return _PARTICLE_PATTERN.sub(choose, text)


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
