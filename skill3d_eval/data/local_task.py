"""Pointing one of our tasks at a local directory / parquet / JSONL: an override task YAML.

lmms-eval's task YAML cannot be parameterised from the command line, but a YAML found through
`--include_path` with the same task name replaces ours. So a local source is one small file
written next to the user's data: it `include:`s our YAML (prompt, visuals, scoring unchanged)
and replaces only where the rows come from (and, for media stored as paths, their root):

    skill3d-eval data local-task vsi_bench --test /data/vsi/test.parquet --video-root /data/vsi/videos --out overrides/
    lmms-eval --model skill3d --tasks vsi_bench --include_path overrides/

Source forms: a `.parquet` / `.jsonl` / `.json` / `.csv` file (one split); a directory written
by `datasets.save_to_disk` (`load_from_disk`); or a directory holding `<split>.parquet` /
`<split>.jsonl` files named after the task's splits.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from skill3d_eval.data.errors import DataError
from skill3d_eval.settings import TASKS_DIR

BUILDERS = {".parquet": "parquet", ".jsonl": "json", ".json": "json", ".csv": "csv"}


class TaskYamlLoader(yaml.SafeLoader):
    """Reads a task YAML without importing its `!function` references."""


TaskYamlLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _with_includes(path: Path, config: dict[str, Any]) -> dict[str, Any]:
    """A task YAML's content with its `include:` chain merged as lmms-eval merges it (the file's
    own keys replace the included ones whole), so a variant that only names what it changes
    still tells its splits and prompt kwargs."""
    include = config.pop("include", None)
    if include is None:
        return config
    base_path = (path.parent / include).resolve()
    return {**_with_includes(base_path, yaml.load(base_path.read_text(), Loader=TaskYamlLoader) or {}), **config}


def task_yaml(task: str, tasks_dir: Path = TASKS_DIR) -> tuple[Path, dict[str, Any]]:
    """Our YAML that defines `task`, and its content with its includes (functions left out)."""
    for path in sorted(tasks_dir.rglob("*.yaml")):
        config = yaml.load(path.read_text(), Loader=TaskYamlLoader) or {}
        if config.get("task") == task:
            return path, _with_includes(path, config)
    known = sorted(
        config["task"]
        for config in (yaml.load(p.read_text(), Loader=TaskYamlLoader) or {} for p in tasks_dir.rglob("*.yaml"))
        if "task" in config
    )
    raise DataError(f"task {task!r} is not one of ours ({', '.join(known)})")


def _file_source(path: Path | list[Path], split: str) -> tuple[str, dict[str, str | list[str]]]:
    """One file, or the shards of one split (files of one type)."""
    paths = path if isinstance(path, list) else [path]
    builders = {BUILDERS.get(p.suffix.lower()) for p in paths}
    if None in builders or len(builders) != 1:
        raise DataError(f"{', '.join(map(str, paths))}: unsupported data file type or a mix of types (use one of {', '.join(BUILDERS)})")
    resolved = [str(p.resolve()) for p in paths]
    return builders.pop(), {split: resolved if isinstance(path, list) else resolved[0]}


def _dataset_source(test: Path | list[Path], train: Path | None, splits: dict[str, str | None]) -> dict[str, Any]:
    """dataset_path / dataset_kwargs for the sources given, split names as the task expects."""
    if isinstance(test, list):
        if missing := [str(p) for p in test if not p.is_file()]:
            raise DataError(f"{', '.join(missing)}: no such file")
    elif not test.exists():
        raise DataError(f"{test}: no such file or directory")
    if isinstance(test, Path) and test.is_dir() and ((test / "dataset_dict.json").is_file() or (test / "state.json").is_file()):
        return {"dataset_path": str(test.resolve()), "dataset_kwargs": {"load_from_disk": True}}
    if isinstance(test, Path) and test.is_dir():
        files, builders = {}, set()
        for split in filter(None, splits.values()):
            found = [test / f"{split}{suffix}" for suffix in BUILDERS if (test / f"{split}{suffix}").is_file()]
            if found:
                builder, entry = _file_source(found[0], split)
                files.update(entry)
                builders.add(builder)
        if splits["test"] not in files or len(builders) != 1:
            raise DataError(
                f"{test}: expected a save_to_disk directory or one {splits['test']}.parquet / .jsonl file "
                f"(optionally {splits['train']}.*) of one type; found {sorted(p.name for p in test.iterdir())}"
            )
        return {"dataset_path": builders.pop(), "dataset_kwargs": {"data_files": files}}
    builder, files = _file_source(test, splits["test"])
    if train is not None:
        if splits["train"] is None:
            raise DataError("the task has no training split; drop --train")
        train_builder, train_files = _file_source(train, splits["train"])
        if train_builder != builder:
            raise DataError(f"{train} and {test}: train and test must be files of one type")
        files.update(train_files)
    return {"dataset_path": builder, "dataset_kwargs": {"data_files": files}}


def write_local_task(
    task: str,
    test: str | os.PathLike | list[Path],
    out_dir: str | os.PathLike,
    *,
    train: str | os.PathLike | None = None,
    video_root: str | os.PathLike | None = None,
    image_root: str | os.PathLike | None = None,
    tasks_dir: Path = TASKS_DIR,
) -> Path:
    """Write `<out_dir>/<task>.yaml` overriding our `task` to read `test` (a file, its shards or a
    directory; and `train`)."""
    base_path, base = task_yaml(task, tasks_dir)
    splits = {"test": base.get("test_split"), "train": base.get("training_split")}
    if train is not None:
        splits["train"] = splits["train"] or "train"
    source = _dataset_source(test if isinstance(test, list) else Path(test), Path(train) if train is not None else None, splits)
    specific = dict((base.get("lmms_eval_specific_kwargs") or {}).get("default") or {})
    for key, value in (("video_root", video_root), ("image_root", image_root)):
        if value is not None:
            if key not in specific:
                raise DataError(f"task {task!r} reads no {key.replace('_', '-')} (its visuals are stored in the rows)")
            specific[key] = str(Path(value).resolve())
    override = {
        "include": str(base_path),
        "task": task,
        **source,
        "dataset_name": None,
        "lmms_eval_specific_kwargs": {"default": specific},
    }
    if train is not None:
        override["training_split"] = splits["train"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{task}.yaml"
    path.write_text(f"# Local source for our task {task!r}; use with lmms-eval --include_path {out}\n" + yaml.safe_dump(override, sort_keys=False))
    return path
