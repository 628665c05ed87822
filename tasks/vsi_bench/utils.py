"""vsi_bench task functions: VSI-Bench videos, lmms-eval's prompt, scores from `skill3d_eval.scoring`.

`doc_to_visual` hands the model the video path (as lmms-eval's `vsibench` does); the model
samples its frames. Videos are looked up at `<video_root>/<dataset>/<scene_name>.mp4`, the
layout lmms-eval's vsibench unpacks to, with `video_root` from the task's
`lmms_eval_specific_kwargs` (empty: `$HF_HOME/vsibench`, lmms-eval's own cache), or at a
row's `video` column when a local source has one.
"""

from __future__ import annotations

import os
from pathlib import Path

from skill3d_eval.data.images import DataError
from skill3d_eval.scoring import score
from skill3d_eval.scoring.vsibench import CHOICE_TYPES, QUESTION_TYPES, result_metrics

OVERALL = "vsi_bench_overall"


def _kwarg(kwargs, key, default):
    return (kwargs or {}).get(key) or default


def video_root(kwargs) -> Path:
    hf_home = os.environ.get("HF_HOME", os.path.expanduser("~/.cache/huggingface"))
    return Path(_kwarg(kwargs, "video_root", os.path.join(hf_home, "vsibench")))


def doc_to_visual(doc, lmms_eval_specific_kwargs=None):
    root = video_root(lmms_eval_specific_kwargs)
    relative = doc.get("video") or f"{doc['dataset']}/{doc['scene_name']}.mp4"
    path = Path(relative) if Path(relative).is_absolute() else root / relative
    if not path.is_file():
        raise DataError(
            f"vsi_bench row {doc['id']}: video {path} does not exist "
            "(point the task at your videos: skill3d-eval data local-task vsi_bench --video-root DIR ...)"
        )
    return [str(path)]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    kwargs = lmms_eval_specific_kwargs or {}
    pre_prompt = kwargs.get("pre_prompt") or "These are frames of a video."
    if doc["question_type"] in CHOICE_TYPES:
        options = "Options:\n" + "\n".join(doc["options"])
        post = kwargs.get("mca_post_prompt") or "Answer with the option's letter from the given choices directly."
        return "\n".join([pre_prompt, doc["question"], options, post])
    if doc["question_type"] in QUESTION_TYPES:
        post = kwargs.get("na_post_prompt") or "Please answer the question using a single word or phrase."
        return "\n".join([pre_prompt, doc["question"], post])
    raise DataError(f"vsi_bench row {doc['id']}: unknown question_type {doc['question_type']!r}")


def process_results(doc, results):
    reply = results[0] if results else None
    item = {"id": doc["id"], "question_type": doc["question_type"], "score": score(doc, reply).value}
    return {metric: item for metric in result_metrics(OVERALL)}

