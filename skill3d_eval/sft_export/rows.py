"""The benchmark rows trajectories were produced from: ground truth, options, scene and frames.

Trajectories keep no images and no answers (they must not leak into evaluation logs), so the
export joins each one back to its row by `sample_id = "task/split/row"` in the split's parquet
(VSI-Bench columns, `frames` as encoded images) — the layout `skill3d-eval synth generate` writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from skill3d_eval.synth.schema import split_path


class ExportError(ValueError):
    """Bad input to the export; the message names the file, row or argument."""


@dataclass(frozen=True)
class Row:
    split: str
    row: int
    question_type: str
    ground_truth: str
    scene: str
    options: list[str] = field(default_factory=list)
    frames: list[bytes] = field(default_factory=list)


def load_split(dataset_root: Path, split: str) -> list[Row]:
    path = split_path(dataset_root, split)
    if not path.is_file():
        raise ExportError(f"--dataset {dataset_root}: no split {split!r} (expected {path})")
    frame = pd.read_parquet(path)
    missing = {"question_type", "ground_truth", "scene_name", "frames"} - set(frame.columns)
    if missing:
        raise ExportError(f"{path}: missing columns {sorted(missing)}")
    rows = []
    for index, record in enumerate(frame.to_dict("records")):
        options = record.get("options")
        rows.append(Row(
            split=split,
            row=index,
            question_type=str(record["question_type"]),
            ground_truth=str(record["ground_truth"]),
            scene=str(record["scene_name"]),
            options=[str(o) for o in (options if options is not None else [])],
            frames=[f["bytes"] for f in record["frames"]],
        ))
    return rows


def split_of(sample_id: str, where: str) -> str:
    parts = sample_id.split("/")
    if len(parts) < 3:
        raise ExportError(f"{where}: sample_id {sample_id!r} is not 'task/split/row'")
    return parts[1]
