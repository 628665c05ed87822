"""The parquet form of a split: VSI-Bench's columns, the scene's video named by `video`.

As in VSI-Bench a row names its video (`dataset`, `scene_name`, and `video` relative to the
dataset root: `videos/<scene>.mp4`) instead of carrying frames, so questions about one scene
share one file and a run holds no frames per row. The frame-question subsets (`view_schema`)
embed PNG frames, as their benchmarks embed images: PNG is lossless, so the oracle experts,
which find a frame's truth by a hash of its decoded pixels, recognise them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

DATASET_NAME = "spatial_synth"
SPLITS = ("train", "test")
COLUMNS = ("id", "dataset", "scene_name", "video", "question_type", "question", "options", "ground_truth")
FEATURES = datasets.Features(
    {
        "id": datasets.Value("int64"),
        "dataset": datasets.Value("string"),
        "scene_name": datasets.Value("string"),
        "video": datasets.Value("string"),
        "question_type": datasets.Value("string"),
        "question": datasets.Value("string"),
        "options": datasets.List(datasets.Value("string")),
        "ground_truth": datasets.Value("string"),
    }
)


@dataclass(frozen=True)
class Row:
    """One question of a split; `video` is the scene's video relative to the dataset root."""

    id: int
    scene_name: str
    video: str
    question_type: str
    question: str
    options: tuple[str, ...]
    ground_truth: str


def split_path(root: Path, split: str) -> Path:
    """Where a dataset root keeps a split's parquet (`train`, `test`, or a view subset such as `cv3d_test`)."""
    return Path(root) / "data" / f"{split}.parquet"


def encode_png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def write_split(rows: list[Row], path: Path) -> None:
    """Write rows through `datasets` so the parquet carries the HF feature metadata."""
    columns = {
        "id": [row.id for row in rows],
        "dataset": [DATASET_NAME] * len(rows),
        "scene_name": [row.scene_name for row in rows],
        "video": [row.video for row in rows],
        "question_type": [row.question_type for row in rows],
        "question": [row.question for row in rows],
        "options": [list(row.options) for row in rows],
        "ground_truth": [row.ground_truth for row in rows],
    }
    table = datasets.Dataset.from_dict(columns, features=FEATURES).data.table
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def read_split(path: Path) -> pa.Table:
    """A split as stored, without touching the HF cache; image items stay {"bytes", "path"}
    dicts so callers can check the exact encoded frames."""
    return pq.read_table(path)
