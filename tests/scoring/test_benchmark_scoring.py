"""Our benchmark scorers against lmms-eval 0.7.3's own implementations, on random predictions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skill3d_eval.scoring import (
    extract_mmsi_letter,
    leading_letter,
    mmsi_score,
    official_overall,
    stated_letter,
)
from skill3d_eval.scoring.vsibench import (
    NUMERICAL_TYPES,
    QUESTION_TYPES,
    score_question,
    task_scores,
)

vsibench = pytest.importorskip("lmms_eval.tasks.vsibench.utils")

REPLY_FORMS = ("{letter}", "{letter}.", "{lower}", "({letter})", "{letter}. {text}", "The answer is {letter}", "", "no idea")
NUMBER_FORMS = ("{value:.2f}", "about {value:.1f} m", "{int_value}", "It is {value:.3f}", "none", "twenty-one")


def _random_vsi_rows(rng, n):
    rows = []
    for index in range(n):
        qtype = QUESTION_TYPES[index % len(QUESTION_TYPES)]
        if qtype in NUMERICAL_TYPES:
            target = float(rng.uniform(0.2, 30))
            value = target * float(rng.uniform(0.3, 1.7))
            form = NUMBER_FORMS[rng.integers(len(NUMBER_FORMS))]
            reply = form.format(value=value, int_value=int(value))
            truth = f"{target:.2f}"
        else:
            truth = "ABCD"[rng.integers(4)]
            letter = "ABCD"[rng.integers(4)]
            form = REPLY_FORMS[rng.integers(len(REPLY_FORMS))]
            reply = form.format(letter=letter, lower=letter.lower(), text="the chair")
        rows.append({"id": index, "question_type": qtype, "ground_truth": truth, "reply": reply})
    return rows


def test_vsi_bench_per_task_and_overall_agree_with_lmms_eval():
    rng = np.random.default_rng(1)
    rows = _random_vsi_rows(rng, 400)
    theirs_items = [vsibench.vsibench_process_results(dict(row), [row["reply"]])["vsibench_overall"] for row in rows]
    ours_items = [{"question_type": r["question_type"], "score": score_question(r["question_type"], r["reply"], r["ground_truth"])} for r in rows]
    for row, theirs, ours in zip(rows, theirs_items, ours_items, strict=True):
        key = "MRA:.5:.95:.05" if row["question_type"] in NUMERICAL_TYPES else "accuracy"
        assert ours["score"] == pytest.approx(theirs[key]), row
    theirs = vsibench._compute_all_subscores(theirs_items)
    ours = task_scores(ours_items)
    names = {
        "object_counting_mra": "object_counting_MRA:.5:.95:.05",
        "object_abs_distance_mra": "object_abs_distance_MRA:.5:.95:.05",
        "object_size_estimation_mra": "object_size_estimation_MRA:.5:.95:.05",
        "room_size_estimation_mra": "room_size_estimation_MRA:.5:.95:.05",
        "object_rel_distance_accuracy": "object_rel_distance_accuracy",
        "object_rel_direction_accuracy": "object_rel_direction_accuracy",
        "route_planning_accuracy": "route_planning_accuracy",
        "obj_appearance_order_accuracy": "obj_appearance_order_accuracy",
        "overall": "overall",
    }
    for mine, theirs_name in names.items():
        assert ours[mine] == pytest.approx(theirs[theirs_name]), mine
    assert round(ours["overall"], 6) == vsibench.vsibench_aggregate_overall(theirs_items)


def test_vsi_bench_missing_level_is_left_out_where_lmms_eval_raises():
    items = [
        {"question_type": "object_rel_direction_easy", "score": 1.0},
        {"question_type": "object_rel_direction_medium", "score": 0.0},
        {"question_type": "object_counting", "score": 0.5},
    ]
    scores = task_scores(items)
    assert scores["object_rel_direction_accuracy"] == 0.5
    assert math.isnan(scores["route_planning_accuracy"])
    assert scores["overall"] == 0.5
    with pytest.raises(KeyError):
        vsibench._compute_all_subscores([{**item, "accuracy": item["score"]} for item in items[:2]])


def test_vsi_bench_unknown_question_type_is_an_error_naming_it():
    with pytest.raises(ValueError, match="object_teleport"):
        score_question("object_teleport", "A", "A")


def test_cv_bench_letter_agrees_with_lmms_eval():
    cv = pytest.importorskip("lmms_eval.tasks.cv_bench.utils")
    rng = np.random.default_rng(2)
    for _ in range(300):
        letter = "ABCDEF"[rng.integers(6)]
        reply = REPLY_FORMS[rng.integers(len(REPLY_FORMS))].format(letter=letter, lower=letter.lower(), text="lamp")
        assert leading_letter(reply) == cv._extract_answer_letter(reply)


def test_blink_letter_agrees_with_lmms_eval():
    blink = pytest.importorskip("lmms_eval.tasks.blink.utils")
    rng = np.random.default_rng(3)
    forms = REPLY_FORMS + ("I pick (B) over (A)", "Answer: {letter}", "{letter}\nbecause")
    for _ in range(300):
        letter = "ABCD"[rng.integers(4)]
        n = int(rng.integers(2, 5))
        reply = forms[rng.integers(len(forms))].format(letter=letter, lower=letter.lower(), text="left")
        assert stated_letter(reply, n) == blink._extract_answer_letter(reply, "ABCDEFGHIJ"[:n])


def test_mmsi_widened_extraction_agrees_with_lmms_eval():
    """The official rule is checked against the MMSI-Bench repository's function in `test_mmsi_extraction.py`."""
    mmsi = pytest.importorskip("lmms_eval.tasks.mmsi_bench.utils")
    rng = np.random.default_rng(4)
    forms = ("`{letter}`", "``{letter}``", "{{{letter}}}", "{letter}", "The answer is {letter} because", "so {letter}", "none", "({letter})", "option {letter}.")
    for _ in range(300):
        letter, truth = "ABCDEFabcdef"[rng.integers(12)], "ABCD"[rng.integers(4)]
        reply = forms[rng.integers(len(forms))].format(letter=letter)
        theirs = mmsi.extract_single_choice_with_word_boundary(reply, truth)
        assert mmsi_score(reply, truth, "widened") == (theirs or 0.0), reply
    assert extract_mmsi_letter("answer: `c`", "widened") == "C" and extract_mmsi_letter(None, "widened") is None


def test_cv_bench_official_formula_where_both_halves_are_present():
    items = [
        {"source": "ADE20K", "score": 1.0},
        {"source": "ADE20K", "score": 0.0},
        {"source": "COCO", "score": 1.0},
        {"source": "Omni3D", "score": 0.0},
        {"source": "Omni3D", "score": 0.0},
        {"source": "Omni3D", "score": 1.0},
    ]
    # ½·((0.5 + 1)/2 + 1/3)
    assert official_overall(items) == pytest.approx(0.5 * (0.75 + 1 / 3))
    assert official_overall(items[3:]) == pytest.approx(1 / 3)
    assert math.isnan(official_overall([]))
