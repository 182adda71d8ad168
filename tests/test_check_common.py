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

    for answer in ("twelve", [1, 2], {"a": 1}, raises, 10 ** 400, 1 + 2j, True, float("nan")):
        feedback = getattr(check, name)(answer)
        assert feedback.status in ("invalid", "incorrect"), (name, answer, feedback)


NUMBER_EXERCISES = sorted(name for name, function in check.EXERCISES.items() if function.takes_number)


def test_number_exercises_are_registered():
    assert len(NUMBER_EXERCISES) >= 4, NUMBER_EXERCISES


def odd_numbers():
    import fractions

    import numpy as np
    import torch

    return {
        "10**400": 10 ** 400,
        "-10**400": -(10 ** 400),
        "huge Fraction": fractions.Fraction(10 ** 400, 3),
        "complex": 1 + 2j,
        "complex tensor": torch.tensor(1 + 2j),
        "bool": True,
        "bool tensor": torch.tensor(False),
        "string": "12.5",
        "multi-element tensor": torch.tensor([1.0, 2.0]),
        "empty tensor": torch.empty(0),
        "multi-element array": np.ones(3),
        "nan": float("nan"),
        "nan tensor": torch.tensor(float("nan")),
        "meta tensor": torch.empty((), device="meta"),
    }


ODD_NUMBERS = odd_numbers()


@pytest.mark.parametrize("name", NUMBER_EXERCISES)
@pytest.mark.parametrize("label", sorted(ODD_NUMBERS))
def test_number_exercise_answers_an_odd_number_as_invalid(name, label, language):
    feedback = getattr(check, name)(ODD_NUMBERS[label])
    assert feedback.status == "invalid", (name, label, feedback)
    hangul = any("가" <= character <= "힣" for character in feedback.message)
    assert hangul == (language == "ko"), feedback.message
    assert "(가)" not in feedback.message and "(는)" not in feedback.message  # particles resolved


@pytest.mark.parametrize("name", NUMBER_EXERCISES)
def test_number_exercise_takes_infinities_and_one_element_containers(name):
    import numpy as np
    import torch

    for answer in (float("inf"), -float("inf"), 1e308, -1e-320, 7, torch.tensor([[3.0]]),
                   torch.tensor(5, dtype=torch.int8), np.float32(2.5), np.array([4.0])):
        feedback = getattr(check, name)(answer)
        assert feedback.status in ("correct", "incorrect", "invalid"), (name, answer, feedback)
        assert "raised" not in feedback.message and "발생했습니다" not in feedback.message, (name, answer, feedback)


@pytest.mark.parametrize("name", NUMBER_EXERCISES)
def test_a_one_element_container_is_read_like_its_number(name):
    import numpy as np
    import torch

    function = getattr(check, name)
    for value in (3.0, -20.0, 1024.0):
        plain = function(value)
        for wrapped in (torch.tensor(value), torch.tensor([value], dtype=torch.float64), np.float64(value),
                        np.array([value])):
            assert function(wrapped) == plain, (name, wrapped)


def test_an_exception_in_a_check_is_reported_in_korean_with_the_right_particle():
    from lossviz.check._feedback import exercise

    def broken(answer):
        raise ValueError("bad")

    wrapped = exercise(broken)
    try:
        lossviz.set_language("ko")
        assert wrapped(1).message == "답을 실행하다가 ValueError가 발생했습니다: bad"
        lossviz.set_language("en")
        assert wrapped(1).message == "Your answer raised ValueError: bad"
    finally:
        check.EXERCISES.pop("broken", None)
        lossviz.set_language("en")
