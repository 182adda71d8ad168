"""What every exercise check promises, whichever notebook it belongs to."""
import pytest

import lossviz
from lossviz import check


@pytest.fixture(params=["en", "ko"])
def language(request):
    lossviz.set_language(request.param)
    yield request.param
    lossviz.set_language("en")


@pytest.mark.parametrize("name", sorted(check.EXERCISES))
def test_none_is_not_attempted_in_the_notebook_language(name, language):
    feedback = getattr(check, name)(None)
    assert feedback.status == "not_attempted" and not feedback.passed
    assert ("None" in feedback.message) and (("아직" in feedback.message) == (language == "ko"))


def test_every_check_is_a_public_attribute_with_a_docstring():
    assert len(check.EXERCISES) >= 20
    for name, function in check.EXERCISES.items():
        assert getattr(check, name) is function and function.__doc__, name


@pytest.mark.parametrize("name", sorted(check.EXERCISES))
def test_a_check_never_raises_on_an_odd_answer(name):
    # a student may hand in anything: a string, a list, a function that raises
    def raises(*args, **kwargs):
        raise RuntimeError("student bug")

    for answer in ("twelve", [1, 2], {"a": 1}, raises):
        feedback = getattr(check, name)(answer)
        assert feedback.status in ("invalid", "incorrect"), (name, answer, feedback)
