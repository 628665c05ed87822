"""spatial_synth task functions: the VSI-Bench part of our generated benchmark.

Rows are in VSI-Bench's schema, so scoring is VSI-Bench's own (`skill3d_eval.scoring.score`,
the scorer of `vsi_bench`, skill evolution and training rewards; the metric list is
`tasks/_templates/vsi_bench_schema.yaml`). A failed or empty answer scores 0 and stays in the
denominator; a question type absent from the run (e.g. under --limit) reports NaN instead of a
made-up 0. As in `vsi_bench`, `doc_to_visual` hands the model the scene's video, the row's
`video` column resolved inside the dataset root (`video_root` in the task's
`lmms_eval_specific_kwargs`; empty: the repository's `data/spatial_synth`) by the same function,
and the model samples its frames. A malformed row or a missing video fails in `doc_to_visual`,
as that question's recorded error, while `doc_to_text` never raises.
"""

from __future__ import annotations

from pathlib import Path

from skill3d_eval.data.rows import VsiRow, check, score_or_zero
from skill3d_eval.data.vsi_videos import row_video
from skill3d_eval.scoring.vsibench import CHOICE_TYPES, result_metrics
from skill3d_eval.settings import SYNTH_ROOT

OVERALL = "spatial_synth_overall"
MISSING_HINT = (
    "generate the dataset: skill3d-eval synth generate --out DIR; for a DIR other than data/spatial_synth: "
    "skill3d-eval data local-task spatial_synth --test DIR/data/test.parquet --video-root DIR --out OVERRIDES, "
    "then --include_path OVERRIDES"
)


def video_root(kwargs) -> Path:
    configured = (kwargs or {}).get("video_root")
    return Path(configured) if configured else SYNTH_ROOT


def doc_to_visual(doc, lmms_eval_specific_kwargs=None):
    where = f"spatial_synth row {doc.get('id')}"
    check(VsiRow, doc, where=where)
    return [str(row_video(doc, video_root(lmms_eval_specific_kwargs), where=where, missing_hint=MISSING_HINT))]


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

