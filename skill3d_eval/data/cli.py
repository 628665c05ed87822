"""`skill3d-eval data ...`: point our tasks at local data (`layouts`, `local_task`, `skill3d_splits`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    data = commands.add_parser("data", help="benchmark data from local sources").add_subparsers(dest="action", required=True)
    local = data.add_parser("local-task", help="write an --include_path YAML pointing one of our tasks at local files")
    local.add_argument("task", help="one of our task names, e.g. vsi_bench or cvbench_3d")
    local.add_argument("--test", type=Path, required=True, help="parquet / JSONL file, save_to_disk dir, or a dir of <split>.parquet")
    local.add_argument("--train", type=Path, help="a training split file of the same type")
    local.add_argument("--video-root", type=Path, help="directory videos are found under (vsi_bench)")
    local.add_argument("--image-root", type=Path, help="directory relative image paths are found under")
    local.add_argument("--out", type=Path, required=True, help="directory to pass to lmms-eval --include_path")
    local.set_defaults(run=_local_task)
    layout = data.add_parser(
        "layout", help="recognise a data directory (Hugging Face snapshots, the original system's dataset/) and write --include_path YAMLs"
    )
    layout.add_argument("directory", type=Path, help="a snapshot (huggingface-cli download ... --local-dir DIR), a directory of them, or the original dataset/")
    layout.add_argument("--out", type=Path, required=True, help="directory to pass to lmms-eval --include_path")
    layout.set_defaults(run=_layout)
    splits = data.add_parser("skill3d-splits", help="override YAMLs for the original system's skill3d_splits/*.jsonl")
    splits.add_argument("splits_dir", type=Path, help="directory of the original system's skill3d_splits/*.jsonl")
    splits.add_argument(
        "--media-root", type=Path, help="the original's data root (dataset/) or the directory holding it; default: the splits directory's parent"
    )
    splits.add_argument("--out", type=Path, required=True, help="directory to pass to lmms-eval --include_path")
    splits.set_defaults(run=_skill3d_splits)


def _local_task(args: argparse.Namespace) -> int:
    from skill3d_eval.data.local_task import write_local_task

    path = write_local_task(args.task, args.test, args.out, train=args.train, video_root=args.video_root, image_root=args.image_root)
    print(f"{path}\nrun: lmms-eval --model skill3d --tasks {args.task} --include_path {args.out}")
    return 0


def _layout(args: argparse.Namespace) -> int:
    from skill3d_eval.data.layouts import write_layout

    found = write_layout(args.directory, args.out)
    for entry in found:
        print(f"{entry.task}: {entry.layout} {entry.source} -> {entry.override}" + (f" ({entry.note})" if entry.note else ""))
    print(f"run: lmms-eval --model skill3d --tasks {','.join(entry.task for entry in found)} --include_path {args.out}")
    return 0


def _skill3d_splits(args: argparse.Namespace) -> int:
    from skill3d_eval.data.skill3d_splits import write_split_tasks

    written = write_split_tasks(args.splits_dir, args.media_root or args.splits_dir.parent, args.out)
    for task, path in written.items():
        print(f"{task}: {path}")
    print(f"run: lmms-eval --model skill3d --tasks {','.join(written)} --include_path {args.out}")
    return 0
