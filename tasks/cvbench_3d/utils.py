"""cvbench_3d task functions: CV-Bench's 3D half (Depth Order, Relative Distance).

Prompt and answer parsing are lmms-eval's `cv_bench` (the reply's leading letter, through
`skill3d_eval.scoring.score`); the overall is the official formula
(`skill3d_eval.scoring.cvbench`), which for 3D rows alone is plain accuracy; per-task
accuracies break it down. Images stay undecoded in the dataset (the YAML's `process_docs`:
`data.columns.undecoded_images`) and are decoded strictly by `media.images`, paths only inside
the task's `image_root` (a row without an image column is read from its `filename`, as in
CV-Bench's `test_3d.jsonl`); a malformed row fails in `doc_to_visual` as that question's recorded
error, while `doc_to_text` never raises.
"""

from __future__ import annotations

import math

from skill3d_eval.data.rows import CvBenchRow, check, score_or_zero
from skill3d_eval.media.images import load_image
from skill3d_eval.scoring.cvbench import accuracy_by, official_overall

TASK_METRICS = {"Depth": "depth_order_accuracy", "Distance": "relative_distance_accuracy"}
OVERALL = "cvbench_3d_overall"


def doc_to_visual(doc, lmms_eval_specific_kwargs=None):
    where = f"cvbench_3d row {doc.get('idx')}"
    check(CvBenchRow, doc, where=where)
    root = (lmms_eval_specific_kwargs or {}).get("image_root") or None
    # A snapshot's test_3d.jsonl has no image column; its `filename` names the file under img/.
    image = doc.get("image") if doc.get("image") is not None else doc.get("filename")
    return [load_image(image, where=f"{where} image", root=root)]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    kwargs = lmms_eval_specific_kwargs or {}
    letters = ", ".join(chr(65 + i) for i in range(len(doc.get("choices") or [])))
    return kwargs.get("pre_prompt", "").format(letters) + "\n" + str(doc.get("prompt") or "") + kwargs.get("post_prompt", "")


def process_results(doc, results):
    """A malformed row scores 0; it stays in the overall (a CV-Bench row is always one question)."""
    reply = results[0] if results else None
    value = score_or_zero(CvBenchRow, doc, reply)
    item = {"id": doc.get("idx"), "task": doc.get("task"), "source": doc.get("source"), "score": value}
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
