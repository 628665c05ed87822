"""`scoring.score(row, reply)`: every benchmark family behind one call, and every caller agreeing with it.

The task YAMLs' `process_results`, skill evolution's references, the SFT export's filter and the
GRPO answer reward must score a reply exactly as `score` does, on the same rows; a correct "A"
against CV-Bench's or BLINK's "(A)" scores 1 in all of them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from skill3d_eval.agent.answer import normalize_answer
from skill3d_eval.scoring import Score, UnknownBenchmarkRow, answer_kind, score
from skill3d_eval.settings import TASKS_DIR
from skill3d_eval.sft_export.rows import load_split
from skill3d_eval.skills.references import load_references
from train.rewards import answer_reward

ROUTE_OPTIONS = ["A. Turn Left, Turn Back", "B. Turn Right, Turn Left"]
QUADRANTS = ["A. front-left", "B. front-right", "C. back-left", "D. back-right"]
# Complete rows (a malformed one scores 0 in every task, whatever the reply: tests/tasks/test_row_checks.py).
VSI_ROWS = [
    {"id": 0, "question_type": "object_counting", "question": "How many?", "ground_truth": "3", "options": None},
    {"id": 1, "question_type": "object_abs_distance", "question": "How far?", "ground_truth": "2.41", "options": None},
    {"id": 2, "question_type": "room_size_estimation", "question": "How large?", "ground_truth": "20", "options": None},
    {"id": 3, "question_type": "route_planning", "question": "Which turns?", "ground_truth": "B", "options": ROUTE_OPTIONS},
    {"id": 4, "question_type": "object_rel_direction_hard", "question": "Which quadrant?", "ground_truth": "C", "options": QUADRANTS},
]
CV_ROWS = [
    {"idx": 0, "type": "3D", "task": "Depth", "prompt": "Closer?", "choices": ["lamp", "sofa"], "answer": "(A)", "source": "Omni3D"},
    {"idx": 1, "type": "3D", "task": "Distance", "prompt": "Nearer?", "choices": ["bed", "desk"], "answer": "(B)", "source": "Omni3D"},
]
BLINK_ROWS = [
    {"idx": "val_Multi-view_Reasoning_1", "sub_task": "Multi-view_Reasoning", "prompt": "Left?", "choices": ["left", "right"], "answer": "(A)"},
    {"idx": "val_Multi-view_Reasoning_2", "sub_task": "Multi-view_Reasoning", "prompt": "Right?", "choices": ["left", "right"], "answer": "(B)"},
]
MMSI_ROWS = [
    {"id": 7, "question_type": "Positional Relationship (Cam.–Obj.)", "question": "Where?", "answer": "B", "options": QUADRANTS, "images": [b"png"]},
    {"id": 8, "question_type": "MSR", "question": "Which?", "answer": "D", "options": QUADRANTS, "images": [b"png"]},
]
REPLIES = [
    "A", "(A)", "a.", "B", "B. lamp", "The answer is (B).", "`C`", "``D``", "{A}", "C because",
    "3", "2.4 m", "about three", "twenty-one", "20", "", None, "no idea",
]


def _utils(task_dir: str) -> ModuleType:
    """A task's utils.py, loaded from its file as lmms-eval loads it."""
    spec = importlib.util.spec_from_file_location(f"{task_dir}_dispatch_test_utils", TASKS_DIR / task_dir / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# task directory -> (its rows, the per-sample metric that carries the score)
TASKS = {
    "vsi_bench": (VSI_ROWS, "vsi_bench_overall"),
    "spatial_synth": (VSI_ROWS, "spatial_synth_overall"),
    "cvbench_3d": (CV_ROWS, "cvbench_3d_overall"),
    "blink_multiview": (BLINK_ROWS, "blink_multiview_acc"),
    "mmsibench": (MMSI_ROWS, "mmsi_overall"),
}


# --- (a) each family is told by its columns and scored by its benchmark's rule


@pytest.mark.parametrize(
    ("row", "reply", "value", "extracted"),
    [
        # VSI-Bench numerical: MRA over θ ∈ {0.50, …, 0.95} of the first number (lmms-eval's grid)
        ({"question_type": "object_abs_distance", "ground_truth": "2.0"}, "2.3", 0.8, "2.3"),  # |0.3|/2 ≤ 1−θ for θ ≤ 0.85
        ({"question_type": "object_counting", "ground_truth": "4"}, "about three", 0.6, "3"),  # 0.25: θ ≤ 0.75
        ({"question_type": "object_counting", "ground_truth": "3"}, "4 or 5", 0.4, "4"),  # first number wins
        ({"question_type": "room_size_estimation", "ground_truth": "20"}, "twenty-one", 1.0, "21"),
        ({"question_type": "object_counting", "ground_truth": "3"}, "no idea", 0.0, None),
        # VSI-Bench multiple choice: the reply's first word is the letter
        ({"question_type": "route_planning", "ground_truth": "B", "options": ROUTE_OPTIONS}, "b.", 1.0, "b"),
        ({"question_type": "route_planning", "ground_truth": "B", "options": ROUTE_OPTIONS}, "The answer is B", 0.0, "The"),
        # CV-Bench: the reply's leading letter against "(A)"
        (CV_ROWS[0], "A", 1.0, "A"),
        (CV_ROWS[0], "(A) lamp", 1.0, "A"),
        (CV_ROWS[0], "b", 0.0, "B"),
        (CV_ROWS[0], "", 0.0, None),
        # BLINK: a terse letter, "answer is (X)", "(X)", among this question's letters
        (BLINK_ROWS[0], "A", 1.0, "A"),
        (BLINK_ROWS[1], "I think the answer is (B).", 1.0, "B"),
        (BLINK_ROWS[0], "C", 0.0, None),  # two choices: C is no answer
        # MMSI-Bench, the official rule: double backticks, single backticks, braces, then a bare letter
        (MMSI_ROWS[0], "``B``", 1.0, "B"),
        (MMSI_ROWS[0], "Between A and C I pick {B}", 1.0, "B"),
        (MMSI_ROWS[0], "B looks right but `C`", 0.0, "C"),
        (MMSI_ROWS[1], "So the answer is D", 1.0, "D"),
        (MMSI_ROWS[1], "none of them", 0.0, None),
    ],
)
def test_each_family_scores_known_replies(row, reply, value, extracted):
    scored = score(row, reply)
    assert isinstance(scored, Score)
    assert scored.value == pytest.approx(value) and scored.extracted_answer == extracted, scored


def test_the_family_is_told_by_the_columns():
    assert [score(rows[0], "A").family for rows in (VSI_ROWS, CV_ROWS, BLINK_ROWS, MMSI_ROWS)] == ["vsi_bench", "cvbench", "blink", "mmsi"]
    assert score(VSI_ROWS[0], "3").metric == "mra" and score(VSI_ROWS[3], "B").metric == "accuracy"
    assert [answer_kind(row) for row in VSI_ROWS] == ["number", "number", "number", "choice", "choice"]
    assert {answer_kind(row) for row in CV_ROWS + BLINK_ROWS + MMSI_ROWS} == {"choice"}
    # A training dataset's columns without a question type: options decide.
    assert score({"ground_truth": "B", "options": ROUTE_OPTIONS}, "B").metric == "accuracy"
    assert score({"ground_truth": "3"}, "3").metric == "mra"


def test_vsi_mra_is_lmms_evals():
    vsibench = pytest.importorskip("lmms_eval.tasks.vsibench.utils")
    for reply, truth in [("2.3", "2.0"), ("about 3 m", "4"), ("7.5", "5"), ("0.9", "1.2"), ("12", "10")]:
        theirs = vsibench.vsibench_process_results({"question_type": "object_abs_distance", "ground_truth": truth}, [reply])["vsibench_overall"]["MRA:.5:.95:.05"]
        assert score({"question_type": "object_abs_distance", "ground_truth": truth}, reply).value == pytest.approx(theirs)


def test_a_correct_bare_letter_scores_one_against_a_parenthesised_answer():
    for row in CV_ROWS[:1] + BLINK_ROWS[:1]:
        assert row["answer"] == "(A)" and score(row, "A").value == 1.0


def test_rows_of_no_benchmark_and_unknown_question_types_are_errors_naming_them():
    with pytest.raises(UnknownBenchmarkRow, match="question"):
        score({"question": "how many chairs?"}, "3")
    with pytest.raises(ValueError, match="object_teleport"):
        score({"question_type": "object_teleport", "ground_truth": "A"}, "A")


# --- (b) the task utils, evolution's references, the SFT export and the GRPO reward agree with `score`


@pytest.mark.parametrize("task_dir", sorted(TASKS))
def test_task_process_results_is_score(task_dir):
    rows, metric = TASKS[task_dir]
    utils = _utils(task_dir)
    for row in rows:
        for reply in REPLIES:
            item = utils.process_results(dict(row), [reply] if reply is not None else [])[metric]
            assert item["score"] == score(row, reply).value, (task_dir, row, reply)


def _parquet(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(path)
    return path


@pytest.mark.parametrize("rows", [VSI_ROWS, CV_ROWS, BLINK_ROWS, MMSI_ROWS], ids=["vsi", "cv", "blink", "mmsi"])
def test_evolution_references_score_as_score_does(rows, tmp_path):
    references = load_references(_parquet(tmp_path / "train.parquet", rows))
    assert sorted(references) == list(range(len(rows)))
    for index, row in enumerate(rows):
        reference = references[index]
        assert reference.ground_truth == str(row.get("ground_truth", row.get("answer")))
        assert reference.options == list(row.get("options") or row.get("choices") or [])
        for reply in REPLIES:
            assert reference.score(reply) == score(row, reply).value, (row, reply)
    if rows is CV_ROWS or rows is BLINK_ROWS:
        assert references[0].score("A") == 1.0, "the old fallback scored a bare letter against '(A)' as wrong"


def test_sft_export_rows_score_as_the_task_does(tmp_path):
    """The export joins a trajectory to its split row (`rows.Row`) and keeps it by `score(vars(row), answer)`."""
    frames = [{"bytes": b"png", "path": None}]
    records = [{**row, "options": row["options"] or [], "scene_name": f"scene{row['id']}", "frames": frames} for row in VSI_ROWS]
    _parquet(tmp_path / "data" / "train.parquet", records)
    utils = _utils("spatial_synth")
    for row, doc in zip(load_split(tmp_path, "train"), VSI_ROWS, strict=True):
        for reply in REPLIES:
            task = utils.process_results(dict(doc), [reply])["spatial_synth_overall"]["score"]
            assert score(vars(row), reply).value == task, (doc, reply)


def test_the_grpo_answer_reward_is_score_of_the_returned_answer():
    for row in VSI_ROWS:
        options = row["options"] or []
        for reply in REPLIES:
            (reward,) = answer_reward([reply or ""], ground_truth=[row["ground_truth"]], options=[options], question_type=[row["question_type"]])
            returned = normalize_answer(reply, answer_kind(row), options)
            expected = score(row, returned).value if reply else 0.0
            assert reward == expected, (row, reply)
