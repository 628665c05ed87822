"""blink_multiview task functions: BLINK `Multi-view_Reasoning` (val; test answers are hidden).

Prompt and letter parsing are lmms-eval's `blink` (`skill3d_eval.scoring.score`, which reads
the letter with `stated_letter`); the score is plain accuracy, a reply without a letter
counting as wrong. Images stay undecoded in the dataset (the YAML's `process_docs`:
`data.columns.undecoded_images`) and are decoded strictly by `media.images`, paths only inside
the task's `image_root`; a malformed row fails in `doc_to_visual` as that question's recorded
error, while `doc_to_text` never raises.
"""

from __future__ import annotations

import math
import re

from skill3d_eval.data.rows import BlinkRow, check, score_or_zero
from skill3d_eval.media import limits
from skill3d_eval.media.images import load_image

_IMAGE_KEY = re.compile(r"^image_\d+$")


def doc_to_visual(doc, lmms_eval_specific_kwargs=None):
    where = f"blink_multiview row {doc.get('idx')}"
    check(BlinkRow, doc, where=where)
    root = (lmms_eval_specific_kwargs or {}).get("image_root") or None
    keys = sorted((key for key in doc if _IMAGE_KEY.match(key) and doc[key] is not None), key=lambda key: int(key.split("_")[1]))
    limits.current().check_count(len(keys), where)
    return [load_image(doc[key], where=f"{where} {key}", root=root) for key in keys]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    kwargs = lmms_eval_specific_kwargs or {}
    letters = ", ".join(chr(65 + i) for i in range(len(doc.get("choices") or [])))
    return kwargs.get("pre_prompt", "").format(letters) + str(doc.get("prompt") or "") + kwargs.get("post_prompt", "")


def process_results(doc, results):
    reply = results[0] if results else None
    value = score_or_zero(BlinkRow, doc, reply)
    return {"blink_multiview_acc": {"id": doc.get("idx"), "sub_task": doc.get("sub_task"), "score": value}}


def aggregate_accuracy(items):
    return round(sum(item["score"] for item in items) / len(items), 6) if items else math.nan
