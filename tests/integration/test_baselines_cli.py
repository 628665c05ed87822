"""Baselines selected with `policy=` through the stock lmms-eval CLI."""

from __future__ import annotations

import json
import statistics
from collections import Counter

import datasets
import pytest

from skill3d_eval.trajectory_log import read_trajectories
from skill3d_eval.evaluate import run_lmms_eval
from tests.support.scripted_llm import ScriptedLLM, answer

pytestmark = pytest.mark.integration


def test_chance_frequency_answers_the_training_split_mode(synth_root, tmp_path):
    run_lmms_eval(
        ["spatial_synth"],
        {"policy": "chance_frequency", "triton_url": "127.0.0.1:1", "output_dir": tmp_path / "runs", "run_name": "freq"},
        tmp_path / "out",
        limit=8,
    )
    train = datasets.load_dataset("parquet", data_files={"train": str(synth_root / "data" / "train.parquet")})["train"]
    counts = [int(row["ground_truth"]) for row in train if row["question_type"] == "object_counting"]
    mode = min(value for value, n in Counter(counts).items() if n == max(Counter(counts).values()))
    distances = [float(row["ground_truth"]) for row in train if row["question_type"] == "object_abs_distance"]
    trajectories = read_trajectories(tmp_path / "runs" / "freq" / "trajectories.jsonl")
    assert len(trajectories) == 8
    for trajectory in trajectories:
        assert trajectory.policy == "chance_frequency" and trajectory.tool_calls == 0
        expected = mode if trajectory.task_type == "object_counting" else statistics.fmean(distances)
        assert float(trajectory.answer) == pytest.approx(expected, abs=0.006)


def test_direct_policy_sends_no_tools(synth_root, tmp_path):
    with ScriptedLLM(lambda messages: answer("2")) as llm:
        results = run_lmms_eval(
            ["spatial_synth"],
            {"policy": "direct", "base_url": llm.base_url, "api_key": "k", "model": "scripted", "triton_url": "127.0.0.1:1", "output_dir": tmp_path / "runs", "run_name": "direct"},
            tmp_path / "out",
            limit=3,
        )
        requests = list(llm.requests)
    assert len(requests) == 3 and all("tools" not in r and len(r["messages"]) == 2 for r in requests)
    assert json.loads(results.read_text())["n-samples"]["spatial_synth"]["effective"] == 3
