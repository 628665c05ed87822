"""spatial_synth task functions: the VSI-Bench part of our generated benchmark.

Rows are in VSI-Bench's schema with the frames embedded, so scoring is VSI-Bench's own
(`skill3d_eval.scoring.score`, the scorer of `vsi_bench`, skill evolution and training rewards;
the metric list is `tasks/_templates/vsi_bench_schema.yaml`). A failed or empty answer scores 0
and stays in the denominator; a question type absent from the run (e.g. under --limit) reports
NaN instead of a made-up 0. Frames stay undecoded in the dataset (the YAML's `process_docs`:
`data.columns.undecoded_images`) and are decoded strictly, within the run's size limits, by
`media.images`; a malformed row fails in `doc_to_visual`, as that question's recorded error,
while `doc_to_text` never raises.
"""

from __future__ import annotations

from skill3d_eval.data.rows import VsiRow, check, score_or_zero
from skill3d_eval.media.images import load_images
from skill3d_eval.scoring.vsibench import CHOICE_TYPES, result_metrics

OVERALL = "spatial_synth_overall"


def doc_to_visual(doc):
    where = f"spatial_synth row {doc.get('id')}"
    check(VsiRow, doc, where=where)
    return load_images(doc.get("frames") or [], where=f"{where} frames")


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    kwargs = lmms_eval_specific_kwargs or {}
    parts = [kwargs.get("pre_prompt", ""), str(doc.get("question") or "")]
    if doc.get("question_type") in CHOICE_TYPES:
        parts.append("Options:\n" + "\n".join(map(str, doc.get("options") or [])))
        parts.append(kwargs.get("mca_post_prompt", ""))
    else:
        parts.append(kwargs.get("na_post_prompt", ""))
    return "\n".join(part for part in parts if part)


def process_results(doc, results):
    """A malformed row scores 0 under its own (possibly unknown) type, which no task averages."""
    reply = results[0] if results else None
    value = score_or_zero(VsiRow, doc, reply)
    item = {"id": doc.get("id"), "question_type": doc.get("question_type"), "score": value}
    return {metric: item for metric in result_metrics(OVERALL)}

