"""Ground truth for rollouts: a split's rows keyed the way trajectories name them.

Trajectories carry `sample_id = "task/split/doc_id"` (doc_id: the row's index in the split,
as lmms-eval numbers documents); evolution scores them against these rows with
`scoring.score`, the scorer the task YAMLs call, so a reward here is exactly what the
benchmark would give (a CV-Bench "A" against "(A)" included).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from skill3d_eval.data.task_docs import task_docs
from skill3d_eval.records import Trajectory
from skill3d_eval.scoring import UnknownBenchmarkRow, schema_of, score
from skill3d_eval.scoring.dispatch import Family


class ReferenceMismatch(ValueError):
    pass


@dataclass(frozen=True)
class Reference:
    doc_id: int
    row: Mapping[str, Any]  # the benchmark columns `scoring.score` reads: truth, category, options
    scene: str | None = None
    source: str | None = None
    frames: int = 0

    @property
    def question_type(self) -> str:
        return str(self.row[schema_of(self.row).category])

    @property
    def ground_truth(self) -> str:
        return str(self.row[schema_of(self.row).truth])

    @property
    def family(self) -> Family:
        """The benchmark family whose scorer reads the row: vsi_bench, cvbench, blink or mmsi."""
        return schema_of(self.row).family

    @property
    def options(self) -> list[str]:
        return list(self.row.get(schema_of(self.row).options) or [])

    def score(self, answer: str | None) -> float:
        return score(self.row, answer).value


def split_of(sample_id: str) -> str:
    parts = sample_id.split("/")
    if len(parts) < 3:
        raise ReferenceMismatch(f"sample_id {sample_id!r} is not 'task/split/id'")
    return parts[1]


def load_references(path: Path) -> dict[int, Reference]:
    """Rows of one split's parquet (any benchmark's columns) by row index."""
    try:
        frame = pd.read_parquet(path, columns=None)
    except (OSError, ValueError) as exc:
        raise ReferenceMismatch(f"{path}: cannot read references: {exc}") from exc
    return references_from_rows(frame.to_dict("records"), list(frame.columns), where=str(path))


def references_from_rows(rows: Iterable[Mapping[str, Any]], columns: list[str], *, where: str) -> dict[int, Reference]:
    """Rows with `columns` (any benchmark's) by position; a task's documents after its
    `process_docs` carry what the model saw, e.g. MMSI-Bench's options parsed from the question."""
    try:
        schema = schema_of(dict.fromkeys(columns))
    except UnknownBenchmarkRow as exc:
        raise ReferenceMismatch(f"{where}: {exc}") from exc
    missing = {schema.truth, schema.category} - set(columns)
    if missing:
        raise ReferenceMismatch(f"{where}: missing columns {sorted(missing)}")
    references = {}
    for index, record in enumerate(rows):
        options = record.get(schema.options)
        frames = record.get("frames")
        references[index] = Reference(
            doc_id=index,
            row={
                schema.truth: str(record[schema.truth]),
                schema.category: str(record[schema.category]),
                schema.options: [str(o) for o in options] if options is not None else [],
            },
            scene=record.get("scene_name"),
            source=record.get("dataset"),
            frames=len(frames) if frames is not None else 0,
        )
    return references


def task_references(task: str, data_file: Path) -> dict[int, Reference]:
    """A split of one of our tasks by row, as the task hands its rows to the model (after its
    `process_docs`): MMSI-Bench's options, parsed from the question, are not in its parquet."""
    docs = task_docs(task, data_file).docs
    return references_from_rows(docs, docs.column_names, where=f"{task} {data_file}")


def reference_of(trajectory: Trajectory, references: dict[int, Reference]) -> Reference:
    reference = references.get(trajectory.doc_id)
    if reference is None:
        raise ReferenceMismatch(f"trajectory {trajectory.sample_id}: no row {trajectory.doc_id} in the references")
    return reference
