"""SIGKILL an evaluation half way, rerun the same command: only unfinished samples are asked,
and the final results equal those of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import zlib

import pytest

from skill3d_eval.trajectory_log import read_trajectories
from skill3d_eval.evaluate import lmms_eval_command, run_lmms_eval
from tests.support.scripted_llm import ScriptedLLM, answer, delayed
from tests.support.side_by_side import side_by_side

pytestmark = pytest.mark.integration

N = 10


def question_of(messages):
    return messages[1]["content"][-1]["text"]


def script(messages):
    """A slow model whose answer depends only on the question, so every run agrees."""
    return delayed(answer(str(zlib.crc32(question_of(messages).encode()) % 7 + 1)), 0.3)


def per_sample_replies(output_path):
    (samples_file,) = output_path.rglob("*_samples_spatial_synth.jsonl")
    rows = [json.loads(line) for line in samples_file.read_text().splitlines()]
    return {row["doc_id"]: row["filtered_resps"] for row in rows}


def test_killed_run_resumes_without_redoing_finished_samples(synth_root, synth_triton, tmp_path):
    with ScriptedLLM(script) as llm:
        args = {"policy": "llm", "base_url": llm.base_url, "api_key": "k", "model": "scripted", "triton_url": synth_triton.grpc_url, "concurrency": 1}
        resumed = {**args, "output_dir": tmp_path / "runs"}
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
        with (tmp_path / "first.log").open("w") as log:
            process = subprocess.Popen(lmms_eval_command(["spatial_synth"], resumed, tmp_path / "out1", limit=N), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        run_dir = None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and process.poll() is None:
            logs = list((tmp_path / "runs").glob("*/trajectories.jsonl"))
            if logs and len(logs[0].read_text().splitlines()) >= N // 2:
                run_dir = logs[0].parent
                break
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        assert run_dir is not None, (tmp_path / "first.log").read_text()[-3000:]
        finished = {t.doc_id for t in read_trajectories(run_dir / "trajectories.jsonl")}
        assert N // 2 <= len(finished) < N
        assert not list((tmp_path / "out1").rglob("*_results.json")), "the first run should not have finished"

        asked_before = len(llm.requests)
        # The uninterrupted reference asks its own endpoint (the same script), so this one's
        # requests stay the resumed run's alone.
        with ScriptedLLM(script) as reference_llm:
            reference_args = {**args, "base_url": reference_llm.base_url, "output_dir": tmp_path / "reference"}
            resumed_results, reference = side_by_side(
                lambda: run_lmms_eval(["spatial_synth"], resumed, tmp_path / "out2", limit=N),
                lambda: run_lmms_eval(["spatial_synth"], reference_args, tmp_path / "out3", limit=N),
            )
        # One request per unfinished sample, none for finished ones (several samples can share a
        # question text, so identity is checked on the trajectory log below: a redone sample
        # would be recorded twice).
        assert len(llm.requests) - asked_before == N - len(finished)

    assert json.loads(resumed_results.read_text())["results"] == json.loads(reference.read_text())["results"]
    assert per_sample_replies(tmp_path / "out2") == per_sample_replies(tmp_path / "out3")
    trajectories = read_trajectories(run_dir / "trajectories.jsonl")
    assert sorted(t.doc_id for t in trajectories) == list(range(N)), "each sample recorded exactly once"
