"""Driving the stock `lmms-eval` CLI and reading what it wrote.

The CLI exits 0 even when an evaluation fails (unknown task, dataset error, aggregation
error), so success here means: a results file exists and holds the task's numbers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd


class EvaluationFailed(RuntimeError):
    pass


def lmms_eval_command(
    tasks: Sequence[str],
    model_args: Mapping[str, Any],
    output_path: Path,
    *,
    limit: int | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    args = ",".join(f"{key}={value}" for key, value in model_args.items())
    command = [
        str(Path(sys.executable).parent / "lmms-eval"),
        "--model", "skill3d",
        "--model_args", args,
        "--tasks", ",".join(tasks),
        "--output_path", str(output_path),
        "--log_samples",
        "--timezone", "UTC",
    ]
    if limit is not None:
        command += ["--limit", str(limit)]
    return command + list(extra)


def run_lmms_eval(
    tasks: Sequence[str],
    model_args: Mapping[str, Any],
    output_path: Path,
    *,
    limit: int | None = None,
    extra: Sequence[str] = (),
    log_file: Path | None = None,
    timeout_s: float | None = None,
) -> Path:
    """Run the CLI offline; return the results file, or raise with the log's tail."""
    command = lmms_eval_command(tasks, model_args, output_path, limit=limit, extra=extra)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    before = set(output_path.rglob("*_results.json")) if output_path.exists() else set()
    log_file = log_file or output_path / "lmms_eval.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("w") as log:
        completed = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=timeout_s, check=False)
    produced = sorted(set(output_path.rglob("*_results.json")) - before, key=lambda p: p.stat().st_mtime)
    if completed.returncode != 0 or not produced:
        tail = log_file.read_text(errors="replace")[-4000:]
        outcome = f"exited with status {completed.returncode}" + ("" if produced else " and wrote no results")
        raise EvaluationFailed(f"lmms-eval {outcome}; log {log_file}:\n{tail}")
    results = json.loads(produced[-1].read_text())
    missing = [task for task in tasks if task not in results.get("results", {})]
    if missing:
        raise EvaluationFailed(f"results file {produced[-1]} lacks tasks {missing}")
    return produced[-1]


def score_table(results_file: Path) -> pd.DataFrame:
    """One row per (task, metric) with the value and the number of samples the task scored."""
    results = json.loads(results_file.read_text())
    rows = []
    for task, metrics in results["results"].items():
        n = results.get("n-samples", {}).get(task, {}).get("effective")
        for key, value in metrics.items():
            if key == "alias" or "_stderr" in key or not isinstance(value, (int, float)):
                continue
            rows.append({"task": task, "metric": key.split(",")[0], "value": value, "samples": n})
    return pd.DataFrame(rows, columns=["task", "metric", "value", "samples"])
