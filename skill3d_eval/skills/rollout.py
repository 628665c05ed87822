"""`skills rollout`: teacher trajectories on a task's training split, from any policy, for `skills evolve`.

Evolution learns from rollouts on training data only, and they should be made exactly as an
evaluation is: the stock lmms-eval CLI, our `skill3d` model, the same prompts and scoring. So a
rollout is an lmms-eval run of one of our tasks whose test split is pointed at its training
split by an override YAML (`--include_path`, same task name, so sample ids, skill sources and
references line up). Any policy works: `policy=llm,base_url=...,model=...` for an LLM teacher,
`policy=program,library=<snapshot>` for a library's workflows (e.g. a frozen snapshot of
skill_store/explore to try alternative tool chains).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from skill3d_eval.data.errors import DataError
from skill3d_eval.data.local_task import task_yaml
from skill3d_eval.skills.evolve import REFUSED_SPLITS


def training_split_override(task: str, split: str, out: Path) -> Path:
    """An --include_path YAML whose `task` answers `split` of our task's own data files."""
    if split in REFUSED_SPLITS:
        raise DataError(f"--split {split}: rollouts feed evolution, which learns from training splits only")
    path, config = task_yaml(task)
    files = (config.get("dataset_kwargs") or {}).get("data_files") or {}
    if split not in files:
        raise DataError(f"task {task} ({path}) names no {split!r} data files (it has: {', '.join(files) or 'none'}); "
                        "point it at local training data first (skill3d-eval data local-task)")
    data_files = {name: str((path.parent / value).resolve()) for name, value in files.items()}
    if not Path(data_files[split]).is_file():
        raise DataError(f"task {task}: {data_files[split]} does not exist (generate or download the data first)")
    out.mkdir(parents=True, exist_ok=True)
    override = out / f"{task}.yaml"
    override.write_text(yaml.safe_dump({
        "include": str(path.resolve()),
        "task": task,
        "dataset_kwargs": {**config["dataset_kwargs"], "data_files": data_files},
        "test_split": split,
    }, sort_keys=False))
    return override


def parse_model_args(text: str) -> dict[str, str]:
    """`k=v,k=v` as lmms-eval's --model_args reads it."""
    pairs = [item for item in text.split(",") if item.strip()]
    if bad := [item for item in pairs if "=" not in item]:
        raise DataError(f"--model-args: {', '.join(bad)} is not key=value")
    return dict(item.strip().split("=", 1) for item in pairs)


def rollout(task: str, split: str, model_args: Mapping[str, Any], out: Path, limit: int | None = None) -> Path:
    """Run the rollout; its trajectories.jsonl, for `skills evolve --trajectories`."""
    from skill3d_eval.evaluate import run_lmms_eval

    include = out / "tasks"
    training_split_override(task, split, include)
    args = {"run_name": f"rollout-{model_args.get('policy', 'program')}", **model_args, "output_dir": out / "runs"}
    run_lmms_eval([task], args, out / "lmms", limit=limit, extra=["--include_path", str(include)])
    return out / "runs" / str(args["run_name"]) / "trajectories.jsonl"
