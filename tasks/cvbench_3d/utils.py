"""cvbench_3d task functions: CV-Bench's 3D half (Depth Order, Relative Distance).

Prompt and answer parsing are lmms-eval's `cv_bench` (the reply's leading letter, through
`skill3d_eval.scoring.score`); the overall is the official formula
(`skill3d_eval.scoring.cvbench`), which for 3D rows alone is plain accuracy; per-task
accuracies break it down.
"""

from __future__ import annotations

import math

from skill3d_eval.data.images import open_image
from skill3d_eval.scoring import score
from skill3d_eval.scoring.cvbench import accuracy_by, official_overall

TASK_METRICS = {"Depth": "depth_order_accuracy", "Distance": "relative_distance_accuracy"}
OVERALL = "cvbench_3d_overall"


def doc_to_visual(doc, lmms_eval_specific_kwargs=None):
    root = (lmms_eval_specific_kwargs or {}).get("image_root")
    return [open_image(doc["image"], where=f"cvbench_3d row {doc['idx']} image", image_root=root)]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    kwargs = lmms_eval_specific_kwargs or {}
    letters = ", ".join(chr(65 + i) for i in range(len(doc["choices"])))
    return kwargs.get("pre_prompt", "").format(letters) + "\n" + doc["prompt"] + kwargs.get("post_prompt", "")


def process_results(doc, results):
    reply = results[0] if results else None
    item = {"id": doc["idx"], "task": doc["task"], "source": doc["source"], "score": score(doc, reply).value}
    return {metric: item for metric in (OVERALL, *TASK_METRICS.values())}


def aggregate_overall(items):
    value = official_overall(items)
    return value if math.isnan(value) else round(value, 6)


def _task_aggregate(task):
    def aggregate(items):
        value = accuracy_by(items, "task").get(task, math.nan)
        return value if math.isnan(value) else round(value, 6)

    return aggregate


aggregate_depth = _task_aggregate("Depth")
aggregate_distance = _task_aggregate("Distance")
