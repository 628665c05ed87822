"""Data layouts through the stock lmms-eval CLI (`--model skill3d`, `policy=chance_random`: no
LLM, no experts, but every row's media is loaded as for any policy).

One run covers both layouts and the four benchmarks: the original system's `dataset/` holding its
`skill3d_splits` (CV-Bench, BLINK, in its conversation form) and Hugging Face snapshots
(VSI-Bench with its videos still zipped, MMSI-Bench), turned into overrides by
`skill3d-eval data layout`. A VSI question whose video the snapshot lacks is a recorded failure
naming the expected path, the others are scored, and the run exits non-zero (1 of 12 failed is
over the default 5%). A second, short run shows the hub path offline without a cache stopping
before the first question."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from skill3d_eval.data.layouts import write_layout
from skill3d_eval.evaluate import lmms_eval_command
from skill3d_eval.outcome import EXIT_FAILED_QUESTIONS, EXIT_PREFLIGHT
from skill3d_eval.trajectory_log import read_trajectories
from tests.data.miniature import MISSING_SCENE, ORIGINAL_BLINK, ORIGINAL_CV, mixed_dataset, vsi_rows

pytestmark = pytest.mark.integration

TASKS = ["vsi_bench", "cvbench_3d", "blink_multiview", "mmsibench_pr"]


def _run(tasks, tmp_path, extra=()):
    command = lmms_eval_command(tasks, {"policy": "chance_random", "output_dir": tmp_path / "runs", "run_name": "layout"}, tmp_path / "out", extra=list(extra))
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_both_layouts_and_all_four_benchmarks_in_one_run(tmp_path):
    dataset = mixed_dataset(tmp_path / "data")
    layouts = {entry.task: entry.layout for entry in write_layout(dataset, tmp_path / "overrides")}
    assert {task: layouts[task] for task in TASKS} == {
        "vsi_bench": "hf-snapshot", "cvbench_3d": "skill3d-splits", "blink_multiview": "skill3d-splits", "mmsibench_pr": "hf-snapshot",
    }
    completed = _run(TASKS, tmp_path, ["--include_path", str(tmp_path / "overrides")])
    log = completed.stdout[-3000:] + completed.stderr[-5000:]
    assert completed.returncode == EXIT_FAILED_QUESTIONS, log
    results = json.loads(sorted((tmp_path / "out").rglob("*_results.json"))[-1].read_text())
    samples = {task: results["n-samples"][task]["effective"] for task in TASKS}
    assert samples == {"vsi_bench": len(vsi_rows()), "cvbench_3d": len(ORIGINAL_CV), "blink_multiview": len(ORIGINAL_BLINK), "mmsibench_pr": 4}
    trajectories = read_trajectories(tmp_path / "runs" / "layout" / "trajectories.jsonl")
    failed = [t for t in trajectories if t.stop_reason == "error"]
    expected = dataset / "VSI-Bench" / MISSING_SCENE[0] / f"{MISSING_SCENE[1]}.mp4"
    assert [t.sample_id for t in failed] == ["vsi_bench/test/99"] and f"video {expected} does not exist" in failed[0].error
    assert results["skill3d"]["failed"] == 1 and "vsi_bench/test/99" in completed.stderr


def test_the_hub_path_offline_without_a_cache_stops_before_the_first_question(tmp_path):
    completed = _run(["vsi_bench"], tmp_path)
    assert completed.returncode == EXIT_PREFLIGHT, completed.stderr[-3000:]
    assert f"no unpacked videos at {tmp_path / 'hf' / 'vsibench'}" in completed.stderr
    assert "huggingface-cli download --repo-type dataset nyu-visionx/VSI-Bench" in completed.stderr
    assert not list((tmp_path / "runs").rglob("trajectories.jsonl"))  # no question was asked
