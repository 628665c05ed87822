"""How a benchmark's leaderboard is laid out: its columns, in its published order, and its average.

VSI-Bench's leaderboard order is avg, counting, abs dist, obj size, room size, rel dist,
rel dir (mean of its easy/medium/hard levels), route plan, appearance order; spatial_synth
uses VSI-Bench's question types and so its layout. A task we have no layout for gets one
column per question type (in order of first appearance) and the plain mean over questions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from skill3d_eval.scoring.vsibench import TASK_METRICS


@dataclass(frozen=True)
class Column:
    label: str
    question_types: tuple[str, ...]
    metric: str | None = None  # the task's own per-column metric in lmms-eval's results, to cross-check


@dataclass(frozen=True)
class Layout:
    name: str
    columns: tuple[Column, ...]
    # "columns": unweighted mean of the column scores (VSI-Bench's overall); "questions": mean over questions
    average: Literal["columns", "questions"]
    overall_metric: str | None = None

    def column_of(self, question_type: str) -> Column | None:
        return next((column for column in self.columns if question_type in column.question_types), None)


_VSI_LABELS = ("counting", "abs dist", "obj size", "room size", "rel dist", "rel dir", "route plan", "appr order")
VSI_COLUMNS = tuple(Column(label, types, metric) for label, (metric, types) in zip(_VSI_LABELS, TASK_METRICS.items()))

LAYOUTS: dict[str, Layout] = {
    "spatial_synth": Layout("spatial_synth", VSI_COLUMNS, "columns", "spatial_synth_overall"),
    "vsi_bench": Layout("VSI-Bench", VSI_COLUMNS, "columns", "overall"),
    "vsibench": Layout("VSI-Bench", VSI_COLUMNS, "columns"),  # lmms-eval's own task: its aggregate is not one comparable number
}


def layout_for(task: str, question_types: list[str]) -> Layout:
    """The task's published layout, or one column per question type (first-seen order) and the question mean."""
    if task in LAYOUTS:
        return LAYOUTS[task]
    ordered = list(dict.fromkeys(question_types))
    return Layout(task, tuple(Column(qtype, (qtype,)) for qtype in ordered), "questions")
