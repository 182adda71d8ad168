"""Korean particles after a filled-in field: i18n.josa picks 이/가, 을/를, 은/는, 과/와, (으)로."""
import pytest

from lossviz import i18n


@pytest.mark.parametrize("template, expected", [
    ("{v}은(는)", {"0.8": "0.8은", "2": "2는", "10": "10은", "1e-12": "1e-12는", "inf": "inf는",
                   "NaN": "NaN은", "None": "None은", "(3,)": "(3,)은", "텐서": "텐서는", "값": "값은",
                   "10^400": "10^400은", "20,000": "20,000은", "10%": "10%는"}),
    ("{v}이(가)", {"0.5": "0.5가", "3.0": "3.0이", "ValueError": "ValueError가", "N": "N이",
                   "OverflowError": "OverflowError가", "ZeroDivisionError": "ZeroDivisionError가"}),
    ("{v}을(를)", {"(3, 4)": "(3, 4)를", "16.64": "16.64를", "100": "100을"}),
    ("{v}(으)로", {"1": "1로", "7": "7로", "3": "3으로", "물": "물로", "값": "값으로", "2": "2로"}),
    ("{v}과(와)", {"float32": "float32와", "torch": "torch와", "손실": "손실과"}),
])
def test_particle_fits_the_word_before_it(template, expected):
    for value, text in expected.items():
        assert i18n.pick({"en": "-", "ko": template}, "ko", v=value) == text


def test_english_is_left_alone():
    assert i18n.pick({"en": "{v}이(가)", "ko": "-"}, "en", v="x") == "x이(가)"


def test_shared_korean_numbers_use_thousands_separators():
    text = i18n.shared("out_of_range", "ko", name="N", low=1, high=20000, value=123456.0)
    assert text == "N 값은 1에서 20,000 사이여야 합니다. 입력값: 123,456"
    assert i18n.shared("out_of_range", "en", name="N", low=1, high=20000, value=0.5) == \
        "N must lie between 1 and 20,000, got 0.5"
