"""mmsibench / mmsibench_pr task functions: MMSI-Bench multi-image multiple choice.

Prompt and answer extraction are the official ones (`skill3d_eval.scoring.score`, by
`scoring/mmsi.py`; lmms-eval's `mmsi_bench` uses the same). The overall is accuracy over every
question scored (a reply without a letter is wrong, never dropped), with one accuracy per
question type beside it.
`mmsibench_pr` keeps the six positional-relationship types the original system evaluates.
"""

from __future__ import annotations

import math
import re

from skill3d_eval.data.images import open_image
from skill3d_eval.scoring import score
from skill3d_eval.scoring.mmsi import POSITIONAL_TYPES, canonical_type

CATEGORIES = (
    *POSITIONAL_TYPES,
    "Attribute (Meas.)",
    "Attribute (Appr.)",
    "Motion (Obj.)",
    "Motion (Cam.)",
    "MSR",
)


def metric_of(category: str) -> str:
    """'Positional Relationship (Cam.-Obj.)' -> 'positional_relationship_cam_obj_accuracy'."""
    return re.sub(r"[^a-z]+", "_", category.lower()).strip("_") + "_accuracy"


def doc_to_visual(doc, lmms_eval_specific_kwargs=None):
    root = (lmms_eval_specific_kwargs or {}).get("image_root")
    return [
        open_image(image, where=f"mmsibench row {doc['id']} images[{index}]", image_root=root)
        for index, image in enumerate(doc["images"])
    ]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    kwargs = lmms_eval_specific_kwargs or {}
    return f"{kwargs.get('pre_prompt', '')}{doc['question'].strip()}{kwargs.get('post_prompt', '')}"


_OPTION = re.compile(r"([A-F]):\s*(.*?)(?=,\s*[A-F]:|\n|$)", re.DOTALL)


def options_of(question: str) -> list[str]:
    """The options written into the question ('Options: A: left, B: right, ...') as
    ['A: left', ...]: the model reads `options` to know the answer is a letter."""
    _, found, tail = question.rpartition("Options:")
    return [f"{letter}: {text.strip()}" for letter, text in _OPTION.findall(tail)] if found else []


def with_options(dataset):
    return dataset.map(lambda row: {"options": options_of(row["question"])})


def positional_only(dataset):
    return with_options(dataset.filter(lambda row: canonical_type(row["question_type"]) in POSITIONAL_TYPES))


def process_results(doc, results):
    reply = results[0] if results else None
    item = {"id": doc["id"], "question_type": canonical_type(doc["question_type"]), "score": score(doc, reply).value}
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
