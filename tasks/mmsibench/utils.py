"""mmsibench / mmsibench_pr task functions: MMSI-Bench multi-image multiple choice.

Prompt and answer extraction are the official ones (`skill3d_eval.scoring.score`, by
`scoring/mmsi.py`). The overall is accuracy over every question scored (a reply without a
letter is wrong, never dropped), with one accuracy per question type beside it.
`mmsibench_pr` keeps the six positional-relationship types the original system evaluates.
`mmsibench_widened` / `mmsibench_pr_widened` score with lmms-eval's widened extraction instead:
their `process_docs` writes the rule into every row (`answer_extraction`), so `score(row, reply)`
applies it wherever the row travels, not only here.
"""

from __future__ import annotations

import math
import re

from skill3d_eval.data.columns import undecoded_images
from skill3d_eval.data.rows import MMSI_CATEGORIES, MmsiRow, check, score_or_zero
from skill3d_eval.media.images import load_images
from skill3d_eval.scoring.mmsi import ANSWER_EXTRACTION, POSITIONAL_TYPES, canonical_type

CATEGORIES = MMSI_CATEGORIES


def metric_of(category: str) -> str:
    """'Positional Relationship (Cam.-Obj.)' -> 'positional_relationship_cam_obj_accuracy'."""
    return re.sub(r"[^a-z]+", "_", category.lower()).strip("_") + "_accuracy"


def doc_to_visual(doc, lmms_eval_specific_kwargs=None):
    """Images decoded strictly, paths only inside `image_root`; a malformed row fails here, as
    that question's recorded error (`doc_to_text` never raises: lmms-eval builds prompts up front)."""
    where = f"mmsibench row {doc.get('id')}"
    check(MmsiRow, doc, where=where)
    root = (lmms_eval_specific_kwargs or {}).get("image_root") or None
    return load_images(doc.get("images") or [], where=f"{where} images", root=root)


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    kwargs = lmms_eval_specific_kwargs or {}
    return f"{kwargs.get('pre_prompt', '')}{str(doc.get('question') or '').strip()}{kwargs.get('post_prompt', '')}"


_OPTION = re.compile(r"([A-F]):\s*(.*?)(?=,\s*[A-F]:|\n|$)", re.DOTALL)


def options_of(question: str | None) -> list[str]:
    """The options written into the question ('Options: A: left, B: right, ...') as
    ['A: left', ...]: the model reads `options` to know the answer is a letter."""
    _, found, tail = str(question or "").rpartition("Options:")
    return [f"{letter}: {text.strip()}" for letter, text in _OPTION.findall(tail)] if found else []


def with_options(dataset):
    """Images left undecoded for `media.images` to decode strictly (`data.columns`)."""
    return undecoded_images(dataset).map(lambda row: {"options": options_of(row["question"])})


def positional_only(dataset):
    return with_options(dataset.filter(lambda row: canonical_type(row["question_type"] or "") in POSITIONAL_TYPES))


def _widened(dataset):
    return dataset.map(lambda row: {ANSWER_EXTRACTION: "widened"})


def widened(dataset):
    return _widened(with_options(dataset))


def positional_widened(dataset):
    return _widened(positional_only(dataset))


def process_results(doc, results):
    reply = results[0] if results else None
    item = {"id": doc.get("id"), "question_type": canonical_type(doc.get("question_type") or ""), "score": score_or_zero(MmsiRow, doc, reply)}
    return {metric: item for metric in ("mmsi_overall", *(metric_of(c) for c in CATEGORIES))}


def _mean(scores):
    return round(sum(scores) / len(scores), 6) if scores else math.nan


def aggregate_overall(items):
    return _mean([item["score"] for item in items])


def _category_aggregate(category):
    def aggregate(items):
        return _mean([item["score"] for item in items if item["question_type"] == category])

    return aggregate


for _category in CATEGORIES:
    globals()[f"aggregate_{metric_of(_category).removesuffix('_accuracy')}"] = _category_aggregate(_category)
