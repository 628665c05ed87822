"""The original Skill-3D system's data (`dataset/` + `dataset/skill3d_splits/<bench>_{train,test}.jsonl`)
as local sources of our tasks.

The original keeps its data under one root, `dataset/` (its scripts' IMAGE_BASE_PATH):

    dataset/
      skill3d_splits/vsi_{train,test}.jsonl, mmsi_pr_*.jsonl, cv3d_*.jsonl, blink_multiview_*.jsonl
      VSI-Bench/      the nyu-visionx/VSI-Bench snapshot, videos unpacked: VSI-Bench/<dataset>/<scene>.mp4
      VSI_videos/     copies named <dataset>_<scene>.mp4 (what its converter's rows name)
      MMSI-Bench/, CV-3D/ or CVBench/, BLINK/, MMSI_images/   the image files the rows name

Rows are in the original's conversation form or in the benchmark's own columns
(`original_rows`); each split file is converted into `<out>/skill3d_splits/<task>_<split>.jsonl`
in our task's columns, media paths kept relative to the data root, and an override YAML points
the task at it. `--media-root` may name `dataset/` or the directory holding it. Every row is read
before any override is written, so a wrong or truncated file fails here, naming file and line,
not halfway through an evaluation.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from skill3d_eval.data.errors import DataError
from skill3d_eval.data.local_task import write_local_task
from skill3d_eval.data.original_rows import native_row

# split file prefix -> (our task, columns a row in the benchmark's own form must have, the media root the task reads)
SPLIT_TASKS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "vsi": ("vsi_bench", ("id", "question_type", "question", "options", "ground_truth"), "video_root"),
    "mmsi_pr": ("mmsibench_pr", ("id", "images", "question_type", "question", "answer"), "image_root"),
    "cv3d": ("cvbench_3d", ("idx", "task", "image", "prompt", "choices", "answer", "source"), "image_root"),
    "blink_multiview": ("blink_multiview", ("idx", "image_1", "image_2", "prompt", "choices", "answer", "sub_task"), "image_root"),
}
SPLITS_DIR = "skill3d_splits"


def data_root(media_root: str | os.PathLike) -> Path:
    """The original's data root given it or the directory holding it (`dataset/`)."""
    root = Path(media_root)
    if not (root / SPLITS_DIR).is_dir() and (root / "dataset").is_dir():
        return root / "dataset"
    return root


def convert_split_file(path: Path, prefix: str, media_root: Path, out: Path) -> int:
    """`path` rewritten to `out` in the benchmark's own columns; number of rows; DataError naming
    the line of the first unusable one."""
    _task, columns, _root_key = SPLIT_TASKS[prefix]
    rows = []
    with path.open() as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{where}: not JSON: {exc.msg}") from exc
            if not isinstance(row, dict):
                raise DataError(f"{where}: a row must be a JSON object")
            if "conversations" not in row and (missing := [c for c in columns if c not in row]):
                raise DataError(f"{where}: missing column(s) {', '.join(missing)} (and no conversations to convert)")
            rows.append(native_row(prefix, row, media_root, where=where))
    if not rows:
        raise DataError(f"{path}: no rows")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    return len(rows)


def write_split_tasks(splits_dir: str | os.PathLike, media_root: str | os.PathLike, out_dir: str | os.PathLike) -> dict[str, Path]:
    """An override YAML per benchmark whose `<prefix>_test.jsonl` exists (train too when present)."""
    splits_dir, media_root, out_dir = Path(splits_dir), data_root(media_root), Path(out_dir)
    written = {}
    for prefix, (task, _columns, root_key) in SPLIT_TASKS.items():
        if not (splits_dir / f"{prefix}_test.jsonl").is_file():
            continue
        converted = {}
        for split in ("test", "train"):
            source = splits_dir / f"{prefix}_{split}.jsonl"
            if source.is_file():
                converted[split] = out_dir / SPLITS_DIR / f"{task}_{split}.jsonl"
                convert_split_file(source, prefix, media_root, converted[split])
        written[task] = write_local_task(task, converted["test"], out_dir, train=converted.get("train"), **{root_key: media_root})
    if not written:
        raise DataError(f"{splits_dir}: no <benchmark>_test.jsonl of {', '.join(SPLIT_TASKS)}")
    return written
