"""Honest outcomes through the stock `lmms-eval` CLI: a run that could not do its job exits
non-zero with a one-line reason, a run with too many failed questions still writes its results
and says so, a rerun never reuses an answer to another question, two runs never share a run
directory, and Ctrl-C leaves a run that resumes to the same results."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import zlib
from pathlib import Path

import pandas as pd
import pytest

from skill3d_eval.evaluate import lmms_eval_command
from skill3d_eval.experts.ports import free_port
from skill3d_eval.outcome import EXIT_CONFIGURATION, EXIT_FAILED_QUESTIONS, EXIT_PREFLIGHT
from skill3d_eval.records import Trajectory
from skill3d_eval.settings import TASKS_DIR
from skill3d_eval.trajectory_log import TrajectoryLog, read_run_info, read_trajectories
from tests.support.scripted_llm import ScriptedLLM, answer, delayed, http_error
from tests.support.side_by_side import side_by_side

pytestmark = pytest.mark.integration

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def run(model_args: dict, tmp_path: Path, *, limit: int = 4, extra: tuple[str, ...] = (), out: str = "out") -> subprocess.CompletedProcess:
    command = lmms_eval_command(["spatial_synth"], model_args, tmp_path / out, limit=limit, extra=extra)
    return subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=300, check=False)


def reason(completed: subprocess.CompletedProcess) -> str:
    """The harness's one-line reason (the last `skill3d:` line on stderr)."""
    lines = [line for line in completed.stderr.splitlines() if line.startswith("skill3d: ")]
    assert lines, f"no reason given (exit {completed.returncode}):\n{completed.stderr[-3000:]}"
    return lines[-1]


def question_of(messages):
    return messages[1]["content"][-1]["text"]


def by_question(messages):
    """A model whose answer depends only on the question, so every run agrees."""
    return answer(str(zlib.crc32(question_of(messages).encode()) % 7 + 1))


@pytest.mark.parametrize(
    ("model_args", "fragment"),
    [
        ({"policy": "program", "max_turnz": 3}, "max_turnz"),
        ({"policy": "magic"}, "policy"),
        ({"policy": "program", "expert_headers": "[1]"}, "expert_headers"),
        ({"policy": "program", "library": "/nonexistent/library.json"}, "/nonexistent/library.json"),
    ],
)
def test_invalid_model_args_exit_non_zero_with_the_reason(model_args, fragment, tmp_path):
    completed = run({**model_args, "output_dir": tmp_path / "runs"}, tmp_path)
    assert completed.returncode == EXIT_CONFIGURATION, completed.stderr[-3000:]
    assert fragment in reason(completed)
    assert not list(tmp_path.rglob("*_results.json"))


def test_a_library_with_keys_missing_is_named(tmp_path):
    library = tmp_path / "library.json"
    library.write_text(json.dumps({"format": "skill3d-library/1", "skills": []}))
    completed = run({"policy": "program", "library": library, "output_dir": tmp_path / "runs"}, tmp_path)
    assert completed.returncode == EXIT_CONFIGURATION
    assert "library_version" in reason(completed) and "embeddings" in reason(completed)
    library.write_text("{not json")
    corrupt = run({"policy": "program", "library": library, "output_dir": tmp_path / "runs"}, tmp_path)
    assert corrupt.returncode == EXIT_CONFIGURATION and "not JSON" in reason(corrupt)


def test_an_unwritable_output_directory_is_refused(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    completed = run({"policy": "chance_frequency", "output_dir": blocker / "runs"}, tmp_path)
    assert completed.returncode == EXIT_CONFIGURATION and "not writable" in reason(completed)


def test_a_closed_triton_port_fails_in_seconds_without_asking_anything(synth_root, tmp_path):
    started = time.monotonic()
    completed = run({"policy": "program", "triton_url": f"127.0.0.1:{free_port()}", "output_dir": tmp_path / "runs"}, tmp_path)
    assert completed.returncode == EXIT_PREFLIGHT, completed.stderr[-3000:]
    assert time.monotonic() - started < 30
    assert "triton_url=127.0.0.1" in reason(completed)
    assert not list((tmp_path / "runs").rglob("trajectories.jsonl"))


def test_a_dead_llm_endpoint_fails_before_the_first_question(synth_root, tmp_path):
    completed = run({"policy": "llm", "base_url": f"http://127.0.0.1:{free_port()}/v1", "api_key": "k", "model": "m", "output_dir": tmp_path / "runs"}, tmp_path)
    assert completed.returncode == EXIT_PREFLIGHT and "LLM endpoint" in reason(completed)
    with ScriptedLLM(by_question, models=("other-model",)) as llm:
        wrong_model = run({"policy": "direct", "base_url": llm.base_url, "api_key": "k", "model": "m", "output_dir": tmp_path / "runs"}, tmp_path)
        asked = len(llm.requests)
    assert wrong_model.returncode == EXIT_PREFLIGHT and "does not serve model 'm'" in reason(wrong_model) and asked == 0


def spatial_synth_copy(directory: Path, synth_root: Path, test_parquet: Path) -> Path:
    """An include-path copy of the spatial_synth task over another test file."""
    directory.mkdir(exist_ok=True)
    yaml = (TASKS_DIR / "spatial_synth" / "spatial_synth.yaml").read_text()
    yaml = yaml.replace("../_templates/", f"{TASKS_DIR}/_templates/").replace("../../data/spatial_synth/data/train.parquet", str(synth_root / "data" / "train.parquet"))
    (directory / "spatial_synth.yaml").write_text(yaml.replace("../../data/spatial_synth/data/test.parquet", str(test_parquet)))
    shutil.copy(TASKS_DIR / "spatial_synth" / "utils.py", directory / "utils.py")
    return directory


def test_media_that_cannot_be_found_stop_the_run_before_it_starts(synth_root, tmp_path):
    task_dir = spatial_synth_copy(tmp_path / "moved", synth_root, synth_root / "data" / "test.parquet")
    task_yaml = task_dir / "spatial_synth.yaml"
    task_yaml.write_text(task_yaml.read_text().replace('video_root: ""', 'video_root: "/nonexistent"'))
    assert 'video_root: "/nonexistent"' in task_yaml.read_text()
    completed = run({"policy": "chance_frequency", "output_dir": tmp_path / "runs"}, tmp_path, extra=("--include_path", str(task_dir)))
    assert completed.returncode == EXIT_PREFLIGHT, completed.stderr[-3000:]
    assert "the media of the first 3 rows cannot be loaded" in reason(completed) and "/nonexistent/videos/" in reason(completed)
    assert not list((tmp_path / "runs").rglob("trajectories.jsonl"))


def test_too_many_failed_questions_exit_non_zero_after_writing_the_results(synth_root, tmp_path):
    with ScriptedLLM(lambda messages: http_error(400)) as llm:
        completed = run({"policy": "direct", "base_url": llm.base_url, "api_key": "k", "model": "scripted", "output_dir": tmp_path / "runs", "run_name": "bad"}, tmp_path, extra=("--log_samples",))
    assert completed.returncode == EXIT_FAILED_QUESTIONS, completed.stderr[-3000:]
    assert "4 of 4 questions failed" in reason(completed) and "BadRequestError" in reason(completed)
    (results_file,) = (tmp_path / "out").rglob("*_results.json")
    summary = json.loads(results_file.read_text())["skill3d"]
    assert summary["failed"] == 4 and summary["questions"] == 4 and summary["top_failures"][0]["reason"] == "BadRequestError"
    assert list((tmp_path / "out").rglob("*_samples_spatial_synth.jsonl")), "the samples are written before the exit"
    outcome = read_run_info(tmp_path / "runs" / "bad" / "run_info.json").outcome
    assert outcome is not None and outcome.failed == 4 and not outcome.ok
    with ScriptedLLM(lambda messages: http_error(400)) as llm:
        tolerated = run({"policy": "direct", "base_url": llm.base_url, "api_key": "k", "model": "scripted", "output_dir": tmp_path / "runs", "max_failed_fraction": 1.0}, tmp_path, out="out2")
    assert tolerated.returncode == 0, tolerated.stderr[-3000:]


def test_a_reordered_copy_of_the_split_is_asked_again_and_scored_right(synth_root, synth_triton, tmp_path):
    args = {"policy": "program", "triton_url": synth_triton.grpc_url, "output_dir": tmp_path / "runs", "run_name": "same"}
    first = run(args, tmp_path, limit=6, extra=("--log_samples",), out="first")
    assert first.returncode == 0, first.stderr[-3000:]
    log_file = tmp_path / "runs" / "same" / "trajectories.jsonl"
    answers = {t.sample_hash: t for t in read_trajectories(log_file)}
    assert len(answers) == 6

    frame = pd.read_parquet(synth_root / "data" / "test.parquet").iloc[:6]  # the questions the first run answered
    (tmp_path / "data").mkdir()
    frame.iloc[::-1].reset_index(drop=True).to_parquet(tmp_path / "data" / "test.parquet")
    reversed_dir = spatial_synth_copy(tmp_path / "reversed", synth_root, tmp_path / "data" / "test.parquet")
    second = run(args, tmp_path, limit=6, extra=("--log_samples", "--include_path", str(reversed_dir)), out="second")
    assert second.returncode == 0, second.stderr[-3000:]

    trajectories = read_trajectories(log_file)
    assert len(trajectories) == 12, "the same questions from another source are asked again"
    later = trajectories[6:]
    assert {t.doc_id for t in later} == set(range(6)) and not {t.sample_hash for t in later} & set(answers)
    (samples_file,) = (tmp_path / "second").rglob("*_samples_spatial_synth.jsonl")
    scored = [json.loads(line) for line in samples_file.read_text().splitlines()]
    for line in scored:
        truth = frame.iloc[5 - line["doc_id"]]["ground_truth"]
        assert str(line["target"]) == str(truth)
    assert sum(float(next(v for v in line.values() if isinstance(v, dict))["score"]) for line in scored) / len(scored) >= 0.95


def test_two_runs_on_one_directory_never_answer_a_question_twice(synth_root, tmp_path):
    with ScriptedLLM(lambda messages: delayed(by_question(messages), 0.3)) as llm:
        args = {"policy": "direct", "base_url": llm.base_url, "api_key": "k", "model": "scripted", "output_dir": tmp_path / "runs", "run_name": "shared", "concurrency": 1}
        commands = [lmms_eval_command(["spatial_synth"], args, tmp_path / f"out{i}", limit=6) for i in range(2)]
        processes = [subprocess.Popen(c, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in commands]
        outputs = [p.communicate(timeout=300) for p in processes]
    codes = sorted(p.returncode for p in processes)
    trajectories = read_trajectories(tmp_path / "runs" / "shared" / "trajectories.jsonl")
    assert len({t.sample_hash for t in trajectories}) == len(trajectories), "no question answered twice"
    if codes == [0, EXIT_CONFIGURATION]:  # the second was refused while the first held the directory
        refused = next(err for (_, err), p in zip(outputs, processes) if p.returncode == EXIT_CONFIGURATION)
        assert "being written by another run" in refused
    else:  # the first finished before the second reached the directory: it reused every answer
        assert codes == [0, 0] and len(trajectories) == 6


def test_a_torn_last_line_is_cut_before_the_next_append(tmp_path):
    log = TrajectoryLog(tmp_path)
    record = Trajectory(task="t", doc_id=0, sample_id="t/test/0", question="q", task_type=None, scene=None, policy="p", answer="1", sample_hash="h0")
    log.append(record)
    with log.path.open("ab") as handle:
        handle.write(b'{"task": "t", "doc_id": 1, "sample_id": "t/te')  # a kill mid-write
    log.append(record.model_copy(update={"doc_id": 2, "sample_hash": "h2"}))
    assert [t.doc_id for t in read_trajectories(log.path)] == [0, 2]
    assert log.path.read_bytes().count(b"\n") == 2


def test_ctrl_c_stops_within_the_grace_period_and_the_rerun_completes(synth_root, tmp_path):
    limit = 8
    with ScriptedLLM(lambda messages: delayed(by_question(messages), 1.0)) as llm:
        args = {"policy": "direct", "base_url": llm.base_url, "api_key": "k", "model": "scripted", "output_dir": tmp_path / "runs", "run_name": "ctrlc", "concurrency": 2, "interrupt_grace_s": 3}
        process = subprocess.Popen(lmms_eval_command(["spatial_synth"], args, tmp_path / "out1", limit=limit), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        log_file = tmp_path / "runs" / "ctrlc" / "trajectories.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (log_file.is_file() and log_file.read_text().count("\n") >= 2):
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        process.communicate(timeout=60)
        assert time.monotonic() - interrupted < 3 + 5, "exits within the grace period (plus interpreter shutdown)"
        assert process.returncode != 0
        finished = read_trajectories(log_file)
        assert 2 <= len(finished) < limit
        rerun, reference = side_by_side(
            lambda: run({**args, "interrupt_grace_s": 3}, tmp_path, limit=limit, extra=("--log_samples",), out="out2"),
            lambda: run({**args, "run_name": "reference"}, tmp_path, limit=limit, extra=("--log_samples",), out="out3"),
        )
    assert rerun.returncode == 0 and reference.returncode == 0, rerun.stderr[-3000:]
    assert len(read_trajectories(log_file)) == limit, "each question recorded once: the rerun asked only the rest"
    results = [json.loads(next((tmp_path / out).rglob("*_results.json")).read_text())["results"] for out in ("out2", "out3")]
    assert results[0] == results[1]
