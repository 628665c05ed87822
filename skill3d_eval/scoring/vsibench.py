"""VSI-Bench scoring: one score per question, then the 8 task scores and their overall mean.

Definitions are lmms-eval 0.7.3's `tasks/vsibench/utils.py` (tested against it): MRA for the
four numerical types, first-token letter match for the multiple-choice ones, the three
relative-direction levels averaged into one task, `overall` = unweighted mean of the tasks.
Two deliberate differences, both where lmms-eval fails instead of scoring: a level missing
from a run (e.g. under `--limit`) is left out of the relative-direction mean instead of
raising `KeyError`, and a ground truth of 0 scores exact match instead of dividing by zero.
A task absent from a run is NaN (not 0) and left out of `overall`, as lmms-eval's overall does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from skill3d_eval.scoring.choice import choice_accuracy
from skill3d_eval.scoring.numeric import numeric_mra

NUMERICAL_TYPES = ("object_counting", "object_abs_distance", "object_size_estimation", "room_size_estimation")
REL_DIRECTION_TYPES = ("object_rel_direction_easy", "object_rel_direction_medium", "object_rel_direction_hard")
CHOICE_TYPES = ("object_rel_distance", *REL_DIRECTION_TYPES, "route_planning", "obj_appearance_order")
QUESTION_TYPES = NUMERICAL_TYPES + CHOICE_TYPES

# task metric name -> the question types it averages (relative direction: mean of its levels)
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "object_counting_mra": ("object_counting",),
    "object_abs_distance_mra": ("object_abs_distance",),
    "object_size_estimation_mra": ("object_size_estimation",),
    "room_size_estimation_mra": ("room_size_estimation",),
    "object_rel_distance_accuracy": ("object_rel_distance",),
    "object_rel_direction_accuracy": REL_DIRECTION_TYPES,
    "route_planning_accuracy": ("route_planning",),
    "obj_appearance_order_accuracy": ("obj_appearance_order",),
}


class UnknownQuestionType(ValueError):
    pass


def is_numerical(question_type: str | None, options: Sequence[str] | None = None) -> bool:
    """Whether a question is scored by MRA (else by its letter). A row without a question type
    (a training dataset's `ground_truth` / `options` columns) is numerical when it lists no options."""
    if question_type is None:
        return options is None or len(options) == 0
    if question_type in NUMERICAL_TYPES:
        return True
    if question_type in CHOICE_TYPES:
        return False
    raise UnknownQuestionType(f"unknown VSI-Bench question_type {question_type!r} (known: {', '.join(QUESTION_TYPES)})")


def score_question(question_type: str, reply: str | None, ground_truth: str) -> float:
    return numeric_mra(reply, ground_truth) if is_numerical(question_type) else choice_accuracy(reply, ground_truth)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def type_scores(items: Iterable[Mapping]) -> dict[str, float]:
    """Mean score per question type present; items carry `question_type` and `score`."""
    by_type: dict[str, list[float]] = {}
    for item in items:
        by_type.setdefault(item["question_type"], []).append(float(item["score"]))
    return {qtype: _mean(scores) for qtype, scores in by_type.items()}


def task_scores(items: Iterable[Mapping]) -> dict[str, float]:
    """The 8 task scores (NaN when absent) and `overall`, unrounded."""
    per_type = type_scores(items)
    tasks = {}
    for metric, qtypes in TASK_METRICS.items():
        present = [per_type[qtype] for qtype in qtypes if qtype in per_type]
        tasks[metric] = _mean(present)
    tasks["overall"] = _mean([value for value in tasks.values() if not math.isnan(value)])
    return tasks


def rounded(value: float) -> float:
    return value if math.isnan(value) else round(value, 6)


def task_aggregation(metric: str):
    """An lmms-eval aggregation reporting one entry of `task_scores` (`overall` included)."""

    def aggregate(items: list[Mapping]) -> float:
        return rounded(task_scores(items)[metric])

    aggregate.__name__ = f"aggregate_{metric}"
    return aggregate


def level_aggregation(question_type: str):
    """An lmms-eval aggregation reporting one question type's mean (e.g. one direction level)."""

    def aggregate(items: list[Mapping]) -> float:
        return rounded(type_scores(items).get(question_type, math.nan))

    aggregate.__name__ = f"aggregate_{question_type}"
    return aggregate


# The aggregations `tasks/_templates/vsi_bench_schema.yaml` names: `aggregate_<metric>` for every
# metric a VSI-Bench-style task reports (`overall` stands for each task's `<task>_overall`).
for _metric in ("overall", *TASK_METRICS):
    globals()[f"aggregate_{_metric}"] = task_aggregation(_metric)
for _level in REL_DIRECTION_TYPES:
    globals()[f"aggregate_{_level}_accuracy"] = level_aggregation(_level)


def result_metrics(overall_name: str) -> tuple[str, ...]:
    """Every metric a VSI-Bench-style task reports: its overall, the 8 tasks, the 3 levels."""
    return (overall_name, *TASK_METRICS, *(f"{level}_accuracy" for level in REL_DIRECTION_TYPES))
