import numpy as np
import pytest

from skill3d_eval.scoring import (
    choice_accuracy,
    extract_choice,
    extract_number,
    mean_relative_accuracy,
    numeric_mra,
)


def test_mra_uses_ten_thresholds_like_lmms_eval():
    # Relative error 0.07 passes thresholds 0.50 … 0.90 (9 of the 10 grid points 0.50, 0.55, …, 0.95).
    assert mean_relative_accuracy(1.07, 1.0) == pytest.approx(0.9)
    assert mean_relative_accuracy(1.0, 1.0) == 1.0
    assert mean_relative_accuracy(2.0, 1.0) == 0.0
    # Exactly on a boundary counts (<=): error 0.5 passes θ = 0.5 only.
    assert mean_relative_accuracy(1.5, 1.0) == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("3", 3.0),
        ("3.25 meters", 3.25),
        ("There are 4 chairs", 4.0),
        ("twenty-one", 21.0),
        ("one apple, room 2", 1.0),
        ("three hundred and five", 305.0),
        ("-1.5", -1.5),
        ("no idea", None),
        ("", None),
        (None, None),
    ],
)
def test_extract_number(reply, expected):
    assert extract_number(reply) == expected


def test_unparsable_and_empty_replies_score_zero():
    assert numeric_mra("I cannot tell", "2.5") == 0.0
    assert numeric_mra("", "2.5") == 0.0
    assert numeric_mra("2.5", "not a number") == 0.0


def test_zero_ground_truth_is_exact_match_only():
    assert numeric_mra("0", "0") == 1.0
    assert numeric_mra("0.1", "0") == 0.0


def test_reply_with_extra_words_scores_its_first_number():
    assert numeric_mra("About 2.4 m, maybe 3", "2.4") == 1.0


def test_agrees_with_lmms_eval_vsibench_on_random_predictions():
    vsibench = pytest.importorskip("lmms_eval.tasks.vsibench.utils")
    rng = np.random.default_rng(0)
    for _ in range(300):
        target = float(rng.uniform(0.1, 20))
        pred = float(target * rng.uniform(0.3, 1.7))
        reply = rng.choice([f"{pred:.2f}", f"about {pred:.1f} m", f"{int(pred)}"])
        theirs = vsibench.mean_relative_accuracy(vsibench.extract_number(reply), vsibench.to_float(f"{target:.2f}"), start=0.5, end=0.95, interval=0.05)
        assert numeric_mra(reply, f"{target:.2f}") == pytest.approx(theirs)


def test_choice_first_token():
    assert extract_choice("B. because") == "B"
    assert choice_accuracy("b", "B") == 1.0
    assert choice_accuracy("The answer is B", "B") == 0.0
