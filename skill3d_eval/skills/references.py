"""Ground truth for rollouts: a split's rows keyed the way trajectories name them.

Trajectories carry `sample_id = "task/split/doc_id"` (doc_id: the row's index in the split,
as lmms-eval numbers documents); evolution scores them against these rows with the shared
scorers, so a reward here is exactly what the benchmark would give.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from skill3d_eval.records import Trajectory
from skill3d_eval.scoring import choice_accuracy, numeric_mra


class ReferenceMismatch(ValueError):
    pass


@dataclass(frozen=True)
class Reference:
    doc_id: int
    question_type: str
    ground_truth: str
    options: list[str] = field(default_factory=list)
    scene: str | None = None
    source: str | None = None
    frames: int = 0

    def score(self, answer: str) -> float:
        return choice_accuracy(answer, self.ground_truth) if self.options else numeric_mra(answer, self.ground_truth)


def split_of(sample_id: str) -> str:
    parts = sample_id.split("/")
    if len(parts) < 3:
        raise ReferenceMismatch(f"sample_id {sample_id!r} is not 'task/split/id'")
    return parts[1]


def load_references(path: Path) -> dict[int, Reference]:
    """Rows of one split's parquet (VSI-Bench columns) by row index."""
    try:
        frame = pd.read_parquet(path, columns=None)
    except (OSError, ValueError) as exc:
        raise ReferenceMismatch(f"{path}: cannot read references: {exc}") from exc
    missing = {"question_type", "ground_truth"} - set(frame.columns)
    if missing:
        raise ReferenceMismatch(f"{path}: missing columns {sorted(missing)}")
    references = {}
    for index, row in enumerate(frame.itertuples(index=False)):
        options = [str(o) for o in (getattr(row, "options", None) if getattr(row, "options", None) is not None else [])]
        frames = getattr(row, "frames", None)
        references[index] = Reference(
            doc_id=index,
            question_type=str(row.question_type),
            ground_truth=str(row.ground_truth),
            options=options,
            scene=getattr(row, "scene_name", None),
            source=getattr(row, "dataset", None),
            frames=len(frames) if frames is not None else 0,
        )
    return references


def reference_of(trajectory: Trajectory, references: dict[int, Reference]) -> Reference:
    reference = references.get(trajectory.doc_id)
    if reference is None:
        raise ReferenceMismatch(f"trajectory {trajectory.sample_id}: no row {trajectory.doc_id} in the references")
    return reference
