"""Baselines selected with `policy=` through the stock lmms-eval CLI, and how the leaderboard labels them."""

from __future__ import annotations

import json
import statistics
from collections import Counter

import datasets
import pytest

from skill3d_eval.data import write_local_task
from skill3d_eval.evaluate import run_lmms_eval
from skill3d_eval.leaderboard import build_leaderboard, markdown
from skill3d_eval.records import AnswerSource
from skill3d_eval.trajectory_log import read_run_info, read_trajectories
from tests.fixtures.build import build_cvbench_3d, build_mmsibench
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
    run_info = read_run_info(tmp_path / "runs" / "freq" / "run_info.json")
    assert run_info.answer_sources == {"spatial_synth": AnswerSource(split="train", evaluated=False)}


def test_chance_baselines_on_test_only_benchmarks_use_the_evaluated_split(tmp_path):
    """CV-Bench and MMSI-Bench have no training split: the answers come from the test split's own
    distribution, each question's row left out, and the leaderboard says so on the row."""
    data = tmp_path / "data"
    for name in ("cvbench_3d", "mmsibench"):
        (data / name).mkdir(parents=True)
    overrides = tmp_path / "overrides"
    write_local_task("cvbench_3d", build_cvbench_3d(data), overrides)
    write_local_task("mmsibench", build_mmsibench(data) / "test.parquet", overrides)
    run_dir = tmp_path / "chance_freq"
    results = run_lmms_eval(
        ["cvbench_3d", "mmsibench"],
        {"policy": "chance_frequency", "output_dir": run_dir / "trajectories", "run_name": "freq"},
        run_dir / "lmms_eval",
        extra=["--include_path", str(overrides)],
    )
    answers = {(t.task, t.doc_id): t.answer for t in read_trajectories(run_dir / "trajectories" / "freq" / "trajectories.jsonl")}
    # CV-Bench (tests/fixtures/build.py CVBENCH_ROWS): no option text is chosen twice, so each question
    # gets the letter most often right among the other questions of its task (ties: the first option).
    # Depth: rows 0 (A) and 1 (B); Distance: rows 2 (B), 3 (A), 4 (A).
    assert [answers[("cvbench_3d", i)] for i in range(5)] == ["B", "A", "A", "A", "A"]
    # MMSI (MMSI_ROWS): only the two Cam.-Cam. rows share a type; each answers the other's letter.
    assert [answers[("mmsibench", i)] for i in range(5)] == ["A", "A", "D", "A", "A"]
    assert json.loads(results.read_text())["results"]["cvbench_3d"]["cvbench_3d_overall,none"] == pytest.approx(0.4)
    run_info = read_run_info(run_dir / "trajectories" / "freq" / "run_info.json")
    assert run_info.answer_sources == {task: AnswerSource(split="test", evaluated=True) for task in ("cvbench_3d", "mmsibench")}
    board = build_leaderboard([run_dir], iterations=200)
    assert {table.runs.loc["chance_freq", "policy"] for table in board.tables} == {"chance_frequency (test-split distribution)"}
    assert "chance_frequency (test-split distribution)" in markdown(board)


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
