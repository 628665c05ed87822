"""The benchmark rows trajectories were produced from: ground truth, options, scene and frames.

Trajectories keep no images and no answers (they must not leak into evaluation logs), so the
export joins each one back to its row by `sample_id = "task/split/row"` in the split's parquet
(VSI-Bench columns) — the layout `skill3d-eval synth generate` writes. A row's frames are those
the model saw: the `num_frames` it sampled from the row's `video` (relative to the dataset root),
decoded by the model's own sampler when an example needs them; rows with embedded `frames`
(encoded images) are read as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from skill3d_eval.data.vsi_videos import relative_video
from skill3d_eval.lmms.sample import DEFAULT_NUM_FRAMES
from skill3d_eval.media.errors import MediaError
from skill3d_eval.media.paths import confined
from skill3d_eval.media.video import sample_frames
from skill3d_eval.synth.schema import encode_png, split_path


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
    frames: Sequence[bytes] = field(default_factory=list)


class VideoFrames(Sequence[bytes]):
    """The `num_frames` frames a model sampled from a video, as PNG bytes, decoded on first use
    (a test split's rows are read for their scenes only) and shared by the rows of one video."""

    def __init__(self, path: Path, num_frames: int):
        self.path, self.num_frames = path, num_frames

    def _pngs(self) -> tuple[bytes, ...]:
        try:
            return _video_pngs(str(self.path), self.num_frames)
        except MediaError as exc:
            raise ExportError(str(exc)) from exc

    def __len__(self) -> int:
        return len(self._pngs())

    def __getitem__(self, index):
        return self._pngs()[index]


@lru_cache(maxsize=8)
def _video_pngs(path: str, num_frames: int) -> tuple[bytes, ...]:
    return tuple(encode_png(frame) for frame in sample_frames(path, num_frames))


def load_split(dataset_root: Path, split: str, num_frames: int = DEFAULT_NUM_FRAMES) -> list[Row]:
    """The split's rows; a video row's frames are the `num_frames` the model sampled."""
    path = split_path(dataset_root, split)
    if not path.is_file():
        raise ExportError(f"--dataset {dataset_root}: no split {split!r} (expected {path})")
    frame = pd.read_parquet(path)
    missing = {"question_type", "ground_truth", "scene_name"} - set(frame.columns)
    if not {"video", "frames"} & set(frame.columns):
        missing.add("video")
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
            frames=_frames_of(record, Path(dataset_root), f"{path} row {index}", num_frames),
        ))
    return rows


def _frames_of(record: dict, root: Path, where: str, num_frames: int) -> Sequence[bytes]:
    if record.get("frames") is not None:
        return [f["bytes"] for f in record["frames"]]
    relative = relative_video(record)
    if relative is None:
        raise ExportError(f"{where}: no video and no frames")
    try:
        return VideoFrames(confined(root, relative, where=where), num_frames)
    except MediaError as exc:
        raise ExportError(str(exc)) from exc


def split_of(sample_id: str, where: str) -> str:
    parts = sample_id.split("/")
    if len(parts) < 3:
        raise ExportError(f"{where}: sample_id {sample_id!r} is not 'task/split/row'")
    return parts[1]
