"""The original Skill-3D system's released splits (`skill3d_splits/<bench>_{train,test}.jsonl`)
as local sources of our tasks.

Each file holds one benchmark's rows in that benchmark's columns, with images (or VSI-Bench
videos) as paths relative to the data root the original scripts call IMAGE_BASE_PATH. Every
row is checked for the columns its task reads before any override is written, so a wrong or
truncated file fails here, naming file, line and column, not halfway through an evaluation.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from skill3d_eval.data.errors import DataError
from skill3d_eval.data.local_task import write_local_task

# split file prefix -> (our task, columns every row must have, which media root the task reads)
SPLIT_TASKS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "vsi": ("vsi_bench", ("id", "dataset", "scene_name", "question_type", "question", "options", "ground_truth"), "video_root"),
    "mmsi_pr": ("mmsibench_pr", ("id", "images", "question_type", "question", "answer"), "image_root"),
    "cv3d": ("cvbench_3d", ("idx", "task", "image", "prompt", "choices", "answer", "source"), "image_root"),
    "blink_multiview": ("blink_multiview", ("idx", "image_1", "image_2", "prompt", "choices", "answer", "sub_task"), "image_root"),
}


def check_split_file(path: Path, columns: tuple[str, ...]) -> int:
    """Number of rows; DataError naming the line of the first unusable one."""
    rows = 0
    with path.open() as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number}: not JSON: {exc.msg}") from exc
            if not isinstance(row, dict):
                raise DataError(f"{path}:{number}: a row must be a JSON object")
            if missing := [c for c in columns if c not in row]:
                raise DataError(f"{path}:{number}: missing column(s) {', '.join(missing)}")
            rows += 1
    if rows == 0:
        raise DataError(f"{path}: no rows")
    return rows


def write_split_tasks(splits_dir: str | os.PathLike, media_root: str | os.PathLike, out_dir: str | os.PathLike) -> dict[str, Path]:
    """An override YAML per benchmark whose `<prefix>_test.jsonl` exists (train too when present)."""
    splits_dir = Path(splits_dir)
    written = {}
    for prefix, (task, columns, root_key) in SPLIT_TASKS.items():
        test = splits_dir / f"{prefix}_test.jsonl"
        if not test.is_file():
            continue
        train = splits_dir / f"{prefix}_train.jsonl"
        for path in (test, train):
            if path.is_file():
                check_split_file(path, columns)
        written[task] = write_local_task(
            task, test, out_dir, train=train if train.is_file() else None, **{root_key: media_root}
        )
    if not written:
        raise DataError(f"{splits_dir}: no <benchmark>_test.jsonl of {', '.join(SPLIT_TASKS)}")
    return written
