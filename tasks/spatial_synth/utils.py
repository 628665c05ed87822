"""spatial_synth task functions: the VSI-Bench part of our generated benchmark.

Rows are in VSI-Bench's schema with the frames embedded, so scoring is VSI-Bench's own
(`skill3d_eval.scoring.vsibench`, the functions `vsi_bench`, the leaderboard and training
rewards use). A failed or empty answer scores 0 and stays in the denominator; a question type
absent from the run (e.g. under --limit) reports NaN instead of a made-up 0.
"""

from __future__ import annotations

from skill3d_eval.data.images import DataError
from skill3d_eval.scoring.vsibench import (
    CHOICE_TYPES,
    QUESTION_TYPES,
    level_aggregation,
    result_metrics,
    score_question,
    task_aggregation,
)

OVERALL = "spatial_synth_overall"


def doc_to_visual(doc):
    return [frame.convert("RGB") for frame in doc["frames"]]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    if doc["question_type"] not in QUESTION_TYPES:
        raise DataError(f"spatial_synth row {doc['id']}: unknown question_type {doc['question_type']!r}")
    kwargs = lmms_eval_specific_kwargs or {}
    parts = [kwargs.get("pre_prompt", ""), doc["question"]]
    if doc["question_type"] in CHOICE_TYPES:
        parts.append("Options:\n" + "\n".join(doc["options"]))
        parts.append(kwargs.get("mca_post_prompt", ""))
    else:
        parts.append(kwargs.get("na_post_prompt", ""))
    return "\n".join(part for part in parts if part)


def process_results(doc, results):
    reply = results[0] if results else None
    item = {"id": doc["id"], "question_type": doc["question_type"], "score": score_question(doc["question_type"], reply, doc["ground_truth"])}
    return {metric: item for metric in result_metrics(OVERALL)}


aggregate_overall = task_aggregation("overall")
aggregate_object_counting = task_aggregation("object_counting_mra")
aggregate_object_abs_distance = task_aggregation("object_abs_distance_mra")
aggregate_object_size_estimation = task_aggregation("object_size_estimation_mra")
aggregate_room_size_estimation = task_aggregation("room_size_estimation_mra")
aggregate_object_rel_distance = task_aggregation("object_rel_distance_accuracy")
aggregate_object_rel_direction = task_aggregation("object_rel_direction_accuracy")
aggregate_route_planning = task_aggregation("route_planning_accuracy")
aggregate_obj_appearance_order = task_aggregation("obj_appearance_order_accuracy")
aggregate_rel_direction_easy = level_aggregation("object_rel_direction_easy")
aggregate_rel_direction_medium = level_aggregation("object_rel_direction_medium")
aggregate_rel_direction_hard = level_aggregation("object_rel_direction_hard")
