"""vsi_bench task functions: VSI-Bench videos, lmms-eval's prompt, scores from `skill3d_eval.scoring`.

`doc_to_visual` hands the model the video path (as lmms-eval's `vsibench` does); the model
samples its frames. Videos are looked up at `<video_root>/<dataset>/<scene_name>.mp4`, the
layout lmms-eval's vsibench unpacks to, with `video_root` from the task's
`lmms_eval_specific_kwargs` (empty: `$HF_HOME/vsibench`, where the YAML's `dataset_kwargs` have
lmms-eval unpack the videos, see `data.vsi_videos`), or at a row's `video` column (relative to the
same root) when a local source has one. A missing video is that row's recorded error, naming
the path it was expected at. Every path is
resolved inside that root (`media.paths.confined`): a row cannot point the model at a file
elsewhere. A malformed row fails in `doc_to_visual`, as that question's recorded error
(`data.rows`); `doc_to_text` never raises, since lmms-eval builds every prompt up front.
"""

from __future__ import annotations

from pathlib import Path

from skill3d_eval.data.rows import VsiRow, check, score_or_zero
from skill3d_eval.data.vsi_videos import hub_video_root, row_video
from skill3d_eval.scoring.vsibench import CHOICE_TYPES, result_metrics

OVERALL = "vsi_bench_overall"
MISSING_HINT = "point the task at your data: skill3d-eval data layout DIR --out OVERRIDES, then --include_path OVERRIDES"


def video_root(kwargs) -> Path:
    configured = (kwargs or {}).get("video_root")
    return Path(configured) if configured else hub_video_root()


def doc_to_visual(doc, lmms_eval_specific_kwargs=None):
    where = f"vsi_bench row {doc.get('id')}"
    check(VsiRow, doc, where=where)
    return [str(row_video(doc, video_root(lmms_eval_specific_kwargs), where=where, missing_hint=MISSING_HINT))]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    kwargs = lmms_eval_specific_kwargs or {}
    pre_prompt = kwargs.get("pre_prompt") or "These are frames of a video."
    question = str(doc.get("question") or "")
    if doc.get("question_type") in CHOICE_TYPES:
        options = "Options:\n" + "\n".join(map(str, doc.get("options") or []))
        post = kwargs.get("mca_post_prompt") or "Answer with the option's letter from the given choices directly."
        return "\n".join([pre_prompt, question, options, post])
    post = kwargs.get("na_post_prompt") or "Please answer the question using a single word or phrase."
    return "\n".join([pre_prompt, question, post])


def process_results(doc, results):
    """A malformed row scores 0 under its own (possibly unknown) type, which no task averages."""
    reply = results[0] if results else None
    value = score_or_zero(VsiRow, doc, reply)
    item = {"id": doc.get("id"), "question_type": doc.get("question_type"), "score": value}
    return {metric: item for metric in result_metrics(OVERALL)}

