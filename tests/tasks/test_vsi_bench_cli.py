"""vsi_bench on its fixture (videos decoded by the model) through the stock lmms-eval CLI.

The `--limit 8` case (a relative-direction level missing) runs with the image benchmarks in
`test_image_benchmarks_cli.py`, sharing one CLI run."""

from __future__ import annotations

import pytest

from tests.fixtures.build import VSI_ROWS
from tests.tasks.conftest import images_sent, run_cli

pytestmark = pytest.mark.integration

# Reply per fixture row (by id) and what VSI-Bench scores for it; the agent first reduces a
# reply to its answer (a bare number, or a letter when the reply states one).
REPLIES = {
    0: "4",  # counting, exact: MRA 1
    1: "0",  # counting with ground truth 0: exact match scores 1 (lmms-eval divides by zero)
    2: "About 4.3 meters, maybe 5",  # extra words, first number 4.3 vs 4: error 0.075 passes θ ≤ 0.90 -> 0.9
    3: "I cannot tell",  # unparsable: 0, and it stays in the denominator
    4: "22.5",  # room size vs 20: error 0.125 passes θ ≤ 0.85 -> 0.8
    5: "B. the chair",  # rel distance, correct letter with extra words: 1
    6: "A",  # easy: 1
    7: "left",  # medium: the option text 'left' is option A, truth C: 0
    8: "D",  # hard: 1
    9: "unsure",  # route planning, no letter: 0
    10: "c.",  # appearance order, lower-case letter with a dot: 1
}


def replies_by_question():
    return {row[4]: REPLIES[row[0]] for row in VSI_ROWS}


def test_every_task_and_the_overall_match_hand_computed_scores(overrides, tmp_path):
    results, requests = run_cli(["vsi_bench"], replies_by_question(), overrides, tmp_path)
    # Each fixture video has 6 frames (fewer than the 32 asked for): all of them reach the model.
    assert len(requests) == len(VSI_ROWS) and {images_sent(r) for r in requests} == {6}
    scores = results["results"]["vsi_bench"]
    expected = {
        "object_counting_mra": 1.0,
        "object_abs_distance_mra": 0.9,
        "object_size_estimation_mra": 0.0,
        "room_size_estimation_mra": 0.8,
        "object_rel_distance_accuracy": 1.0,
        "object_rel_direction_accuracy": round(2 / 3, 6),
        "route_planning_accuracy": 0.0,
        "obj_appearance_order_accuracy": 1.0,
        "object_rel_direction_easy_accuracy": 1.0,
        "object_rel_direction_medium_accuracy": 0.0,
        "object_rel_direction_hard_accuracy": 1.0,
        "vsi_bench_overall": round((1 + 0.9 + 0 + 0.8 + 1 + 2 / 3 + 0 + 1) / 8, 6),
    }
    for metric, value in expected.items():
        assert scores[f"{metric},none"] == pytest.approx(value, abs=1e-6), metric
    assert results["n-samples"]["vsi_bench"]["effective"] == len(VSI_ROWS)
