"""A data directory as users have it, recognised and turned into `--include_path` override YAMLs.

Two layouts are understood, one directory may hold both (the original system's `dataset/` does):

- **Hugging Face snapshots**, as `huggingface-cli download --repo-type dataset REPO --local-dir X`
  leaves them, either X itself or X's sub-directories:
  VSI-Bench (`test*.parquet` / `test.jsonl` + `arkitscenes.zip`, `scannet.zip`, `scannetpp.zip`
  or those archives unpacked into `<dataset>/<scene>.mp4`), CV-Bench (`test_3d.parquet`, or
  `test_3d.jsonl` with its `img/` files), BLINK (`Multi-view_Reasoning/val-*.parquet`),
  MMSI-Bench (`MMSI_Bench.parquet`). The split's files are the ones the dataset card (README.md
  `configs:`) names for the task's config, else the usual names above. VSI-Bench's archives are
  unpacked beside themselves, completely (`archives.unpack`: idempotent, a partial unpack is
  completed).
- **The original system's** `dataset/` with `skill3d_splits/*.jsonl` (`skill3d_splits`): its
  splits win for the tasks they cover; snapshots serve the others.

    skill3d-eval data layout /data/dataset --out overrides/
    lmms-eval --model skill3d --tasks vsi_bench,cvbench_3d --include_path overrides/
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from skill3d_eval.data.archives import unpack
from skill3d_eval.data.errors import DataError
from skill3d_eval.data.local_task import write_local_task
from skill3d_eval.data.skill3d_splits import SPLITS_DIR, data_root, write_split_tasks

VSI_SOURCES = ("arkitscenes", "scannet", "scannetpp")


@dataclass(frozen=True)
class Snapshot:
    """One benchmark's Hugging Face repository, as our tasks read it."""

    repo: str
    tasks: tuple[str, ...]
    config: str | None
    split: str
    signature: tuple[str, ...]  # a directory holding one of these (globs) is this repository's snapshot
    data_files: tuple[str, ...]  # the split's files when the dataset card does not name them, in order of preference
    media: Literal["video", "image"] | None = None


SNAPSHOTS = (
    Snapshot(
        "nyu-visionx/VSI-Bench", ("vsi_bench",), "full", "test",
        signature=tuple(f"{source}{suffix}" for source in VSI_SOURCES for suffix in (".zip", "")),
        data_files=("test.parquet", "test-*.parquet", "data/test-*.parquet", "test.jsonl"),
        media="video",
    ),
    Snapshot(
        "nyu-visionx/CV-Bench", ("cvbench_3d",), "3D", "test",
        signature=("test_3d.parquet", "test_3d.jsonl"), data_files=("test_3d.parquet", "test_3d.jsonl"), media="image",
    ),
    Snapshot(
        "BLINK-Benchmark/BLINK", ("blink_multiview",), "Multi-view_Reasoning", "val",
        signature=("Multi-view_Reasoning",), data_files=("Multi-view_Reasoning/val-*.parquet",),
    ),
    Snapshot(
        "RunsenXu/MMSI-Bench", ("mmsibench", "mmsibench_pr", "mmsibench_widened", "mmsibench_pr_widened"), None, "test",
        signature=("MMSI_Bench.parquet",), data_files=("MMSI_Bench.parquet", "test-*.parquet", "data/test-*.parquet"),
    ),
)


@dataclass(frozen=True)
class Found:
    """Where one of our tasks now reads its rows from."""

    task: str
    layout: Literal["hf-snapshot", "skill3d-splits"]
    source: Path
    override: Path
    note: str = ""


def card_data_files(directory: Path, config: str | None, split: str) -> list[Path]:
    """The files the dataset card's `configs:` names for `config`'s `split` (existing ones only)."""
    readme = directory / "README.md"
    text = readme.read_text(errors="replace") if readme.is_file() else ""
    if not text.startswith("---"):
        return []
    try:
        card = yaml.safe_load(text[3 : text.find("\n---", 3)]) or {}
    except yaml.YAMLError:
        return []
    for entry in card.get("configs") or [] if isinstance(card, dict) else []:
        if isinstance(entry, dict) and entry.get("config_name") == (config or "default"):
            return _existing(directory, _patterns(entry.get("data_files"), split))
    return []


def _patterns(data_files: Any, split: str) -> list[str]:
    if isinstance(data_files, str):
        return [data_files]
    if isinstance(data_files, dict):
        return _patterns(data_files.get(split), split)
    patterns = []
    for item in data_files or []:
        if isinstance(item, str):
            patterns.append(item)
        elif isinstance(item, dict) and item.get("split", split) == split:
            patterns += _patterns(item.get("path"), split)
    return patterns


def _existing(directory: Path, patterns: list[str]) -> list[Path]:
    return sorted({path for pattern in patterns for path in directory.glob(pattern) if path.is_file()})


def is_snapshot(directory: Path, snapshot: Snapshot) -> bool:
    return any(path.exists() for pattern in snapshot.signature for path in directory.glob(pattern))


def split_files(directory: Path, snapshot: Snapshot) -> list[Path]:
    """The task split's files in a snapshot directory; DataError naming what was looked for."""
    if files := card_data_files(directory, snapshot.config, snapshot.split):
        return files
    for pattern in snapshot.data_files:
        if files := _existing(directory, [pattern]):
            return files
    raise DataError(
        f"{directory}: looks like a {snapshot.repo} snapshot but holds none of its {snapshot.split} split files "
        f"(README.md configs for {snapshot.config or 'default'}, or {', '.join(snapshot.data_files)})"
    )


def unpack_videos(directory: Path) -> str:
    """VSI-Bench's archives unpacked beside themselves; what is still missing, said for the report."""
    archives = [directory / f"{source}.zip" for source in VSI_SOURCES if (directory / f"{source}.zip").is_file()]
    report = unpack(archives, directory)
    absent = [source for source in VSI_SOURCES if not (directory / source).is_dir()]
    notes = [f"unpacked {len(report.extracted)} of {report.members} videos"] if report.extracted else []
    if absent:
        notes.append(f"no videos of {', '.join(absent)} ({', '.join(f'{s}.zip' for s in absent)} absent): their questions will fail")
    return "; ".join(notes)


def _candidates(directory: Path) -> list[Path]:
    """The directory, its sub-directories, and those of a `dataset/` in it."""
    found = []
    for root in dict.fromkeys([directory, data_root(directory)]):
        found.append(root)
        found += sorted(path for path in root.iterdir() if path.is_dir() and not path.name.startswith("."))
    return list(dict.fromkeys(found))


def write_layout(directory: str | os.PathLike, out_dir: str | os.PathLike) -> list[Found]:
    """Override YAMLs in `out_dir` for every task `directory` has data for."""
    directory, out_dir = Path(directory), Path(out_dir)
    if not directory.is_dir():
        raise DataError(f"{directory}: not a directory")
    places = {snapshot: next((d for d in _candidates(directory) if is_snapshot(d, snapshot)), None) for snapshot in SNAPSHOTS}
    # Videos first: the original's VSI rows are resolved against what exists (VSI-Bench/<dataset>/<scene>.mp4).
    notes = {snapshot: unpack_videos(place) for snapshot, place in places.items() if place is not None and snapshot.media == "video"}
    found: dict[str, Found] = {}
    root = data_root(directory)
    if (root / SPLITS_DIR).is_dir():
        for task, override in write_split_tasks(root / SPLITS_DIR, root, out_dir).items():
            note = next((notes[s] for s in notes if task in s.tasks), "")
            found[task] = Found(task, "skill3d-splits", root / SPLITS_DIR, override, note)
    for snapshot, place in places.items():
        if place is None or all(task in found for task in snapshot.tasks):
            continue
        files = split_files(place, snapshot)
        roots = {"video_root": place} if snapshot.media == "video" else {"image_root": place} if snapshot.media == "image" else {}
        for task in snapshot.tasks:
            if task not in found:
                override = write_local_task(task, files, out_dir, **roots)
                found[task] = Found(task, "hf-snapshot", place, override, notes.get(snapshot, ""))
    if not found:
        raise DataError(
            f"{directory}: no benchmark data recognised: looked for {SPLITS_DIR}/ (the original system's dataset/) and for "
            f"snapshots of {', '.join(s.repo for s in SNAPSHOTS)} in it and its sub-directories"
        )
    return list(found.values())
