"""spatial_synth task functions: prompt, visuals and VSI-Bench scoring per question type.

Scores come from `skill3d_eval.scoring`, the same functions the leaderboard and training
rewards use. A failed or empty answer scores 0 and stays in the denominator; a question type
absent from the run (e.g. under --limit) reports NaN instead of a made-up 0.
"""

from __future__ import annotations

import math

from skill3d_eval.scoring import choice_accuracy, numeric_mra

NUMERIC_TYPES = ("object_counting", "object_abs_distance")
METRIC_OF_TYPE = {
    "object_counting": "object_counting_mra",
    "object_abs_distance": "object_abs_distance_mra",
}


def doc_to_visual(doc):
    return [frame.convert("RGB") for frame in doc["frames"]]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    kwargs = lmms_eval_specific_kwargs or {}
    parts = [kwargs.get("pre_prompt", ""), doc["question"]]
    if doc["options"]:
        parts.append("Options:\n" + "\n".join(doc["options"]))
        parts.append(kwargs.get("mca_post_prompt", ""))
    else:
        parts.append(kwargs.get("na_post_prompt", ""))
    return "\n".join(part for part in parts if part)


def score(doc, reply: str) -> float:
    if doc["question_type"] in NUMERIC_TYPES:
        return numeric_mra(reply, doc["ground_truth"])
    return choice_accuracy(reply, doc["ground_truth"])


def process_results(doc, results):
    if doc["question_type"] not in METRIC_OF_TYPE:
        raise ValueError(f"spatial_synth row {doc['id']}: unknown question_type {doc['question_type']!r}")
    item = {"id": doc["id"], "question_type": doc["question_type"], "score": score(doc, results[0])}
    return {"spatial_synth_overall": item, **{metric: item for metric in METRIC_OF_TYPE.values()}}


def _mean_of_type(items, question_type: str) -> float:
    scores = [item["score"] for item in items if item["question_type"] == question_type]
    return round(sum(scores) / len(scores), 6) if scores else math.nan


def aggregate_object_counting(items):
    return _mean_of_type(items, "object_counting")


def aggregate_object_abs_distance(items):
    return _mean_of_type(items, "object_abs_distance")


def aggregate_overall(items):
    """Unweighted mean over the question types present, as VSI-Bench's overall."""
    per_type = [_mean_of_type(items, t) for t in METRIC_OF_TYPE]
    present = [value for value in per_type if not math.isnan(value)]
    return round(sum(present) / len(present), 6) if present else math.nan
