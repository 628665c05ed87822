import pytest

from skill3d_eval.agent.answer import format_number, normalize_answer


@pytest.mark.parametrize(
    ("reply", "expected"),
    [("2.374", "2.37"), ("The distance is about 2.4 m.", "2.4"), ("<answer>3</answer>", "3"), ("three chairs", "3"), ("5.0", "5")],
)
def test_numbers_are_reduced_to_a_bare_number(reply, expected):
    assert normalize_answer(reply, "number") == expected


@pytest.mark.parametrize(
    ("reply", "expected"),
    [("B", "B"), ("(C) the sofa", "C"), ("The answer is D.", "D"), ("c", "c"), ("sofa", "B")],
)
def test_choices_are_reduced_to_the_letter(reply, expected):
    options = ["A. chair", "B. sofa", "C. table", "D. lamp"]
    assert normalize_answer(reply, "choice", options) == expected


def test_unparsable_reply_is_kept_and_scores_wrong():
    assert normalize_answer("I do not know", "number") == "I do not know"
    assert normalize_answer("", "choice", ["A. x", "B. y"]) == ""


def test_format_number():
    assert format_number(3.0) == "3"
    assert format_number(-0.001) == "0"
    assert format_number(12.3456) == "12.35"
