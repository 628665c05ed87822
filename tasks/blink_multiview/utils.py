"""blink_multiview task functions: BLINK `Multi-view_Reasoning` (val; test answers are hidden).

Prompt and letter parsing are lmms-eval's `blink` (`skill3d_eval.scoring.score`, which reads
the letter with `stated_letter`);
the score is plain accuracy, a reply without a letter counting as wrong.
"""

from __future__ import annotations

import math
import re

from skill3d_eval.data.images import open_image
from skill3d_eval.scoring import score

_IMAGE_KEY = re.compile(r"^image_\d+$")


def doc_to_visual(doc, lmms_eval_specific_kwargs=None):
    root = (lmms_eval_specific_kwargs or {}).get("image_root")
    keys = sorted((key for key in doc if _IMAGE_KEY.match(key)), key=lambda key: int(key.split("_")[1]))
    return [open_image(doc[key], where=f"blink_multiview row {doc['idx']} {key}", image_root=root) for key in keys if doc[key] is not None]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    kwargs = lmms_eval_specific_kwargs or {}
    letters = ", ".join(chr(65 + i) for i in range(len(doc["choices"])))
    return kwargs.get("pre_prompt", "").format(letters) + doc["prompt"] + kwargs.get("post_prompt", "")


def process_results(doc, results):
    reply = results[0] if results else None
    return {"blink_multiview_acc": {"id": doc["idx"], "sub_task": doc["sub_task"], "score": score(doc, reply).value}}


def aggregate_accuracy(items):
    return round(sum(item["score"] for item in items) / len(items), 6) if items else math.nan
