"""spatial_synth task functions: the VSI-Bench part of our generated benchmark.

Rows are in VSI-Bench's schema with the frames embedded, so scoring is VSI-Bench's own
(`skill3d_eval.scoring.score`, the scorer of `vsi_bench`, skill evolution and training rewards;
the metric list is `tasks/_templates/vsi_bench_schema.yaml`). A failed or empty answer scores 0
and stays in the denominator; a question type absent from the run (e.g. under --limit) reports
NaN instead of a made-up 0.
"""

from __future__ import annotations

from skill3d_eval.data.images import DataError
from skill3d_eval.scoring import score
from skill3d_eval.scoring.vsibench import CHOICE_TYPES, QUESTION_TYPES, result_metrics

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
    item = {"id": doc["id"], "question_type": doc["question_type"], "score": score(doc, reply).value}
    return {metric: item for metric in result_metrics(OVERALL)}

