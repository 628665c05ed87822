"""CV-Bench aggregation: accuracy by a column, and the benchmark's official overall.

A row scores by its reply's leading letter (`option_letter.leading_letter`, via `scoring.score`).

Official overall = ½·((acc_ADE20K + acc_COCO)/2 + acc_Omni3D) when the 2D sources and the 3D
source are all present; for the 3D half alone it is plain accuracy over Omni3D (what
lmms-eval's `cv_bench` reports as `cv_bench_acc`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping


def accuracy_by(items: Iterable[Mapping], key: str) -> dict[str, float]:
    groups: dict[str, list[float]] = {}
    for item in items:
        groups.setdefault(str(item[key]), []).append(float(item["score"]))
    return {name: sum(scores) / len(scores) for name, scores in groups.items()}


def official_overall(items: list[Mapping]) -> float:
    """The paper's formula where ADE20K, COCO and Omni3D are all present, else plain accuracy."""
    if not items:
        return math.nan
    by_source = accuracy_by(items, "source")
    if {"ADE20K", "COCO", "Omni3D"} <= by_source.keys():
        return 0.5 * ((by_source["ADE20K"] + by_source["COCO"]) / 2 + by_source["Omni3D"])
    return sum(float(item["score"]) for item in items) / len(items)
