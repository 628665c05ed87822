"""Kill the Triton server in the middle of an evaluation run.

Calls then fail fast with a clear error (the circuit opens instead of every call waiting out
retries), every sample still gets a trajectory — the failed ones with their reason — and after
a restart on the same ports the same client answers again and a rerun completes the run.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pandas as pd
import pytest

from skill3d_eval.agent.program import ProgramPolicy
from skill3d_eval.records import Sample
from skill3d_eval.agent.runner import Runner
from skill3d_eval.trajectory_log import TrajectoryLog, read_trajectories
from skill3d_eval.experts import BreakerState, ExpertsClient, oracle_server
from skill3d_eval.experts.server import free_port
from skill3d_eval.skills.rollouts import synth_samples
from skill3d_eval.tools import ToolContext, default_toolset

pytestmark = pytest.mark.integration

N = 8
KILL_BEFORE = 3  # samples 0..2 are answered, then the server dies
MODELS = ["depth", "reconstruction", "segmentation"]


def load_samples(synth_root) -> list[tuple[Sample, str]]:
    """The first N test questions as lmms-eval hands them to the model (frames sampled from the
    scene's video), with their answers."""
    keys, samples = synth_samples(synth_root, "test")
    answers = pd.read_parquet(synth_root / "data" / "test.parquet")["ground_truth"].astype(str).tolist()
    return [(samples[key.doc_id], answers[key.doc_id]) for key in keys[:N]]


def test_killed_server_fails_fast_loses_no_sample_and_recovers(synth_root, tmp_path):
    ports = {"grpc_port": free_port(), "http_port": free_port(), "metrics_port": free_port()}

    def serve():
        return oracle_server(synth_root / "oracle", models=MODELS, log_file=tmp_path / "triton.log", **ports).start()

    samples = load_samples(synth_root)
    keys = [s.identity for s, _ in samples]
    server = serve()
    restarted = None
    client = ExpertsClient(server.grpc_url, timeout_s=10.0, retries=2, backoff_s=0.02, breaker_threshold=2, breaker_reset_s=0.5)
    killed = threading.Event()

    def load(index: int) -> Sample:
        if index == KILL_BEFORE and not killed.is_set():
            os.killpg(server.pid, signal.SIGKILL)  # the server and its backend stubs, no goodbye
            server._process.wait()
            killed.set()
        return samples[index][0]

    log = TrajectoryLog(tmp_path / "run")
    try:
        runner = Runner(ProgramPolicy(default_toolset()), client, log, run_id="fault", fingerprint="f0", concurrency=1)
        first = {t.doc_id: t for t in runner.run(keys, load)}
        assert killed.is_set() and sorted(first) == list(range(N))  # no sample lost
        assert len(read_trajectories(log.path)) == N
        for doc_id, trajectory in first.items():
            if doc_id < KILL_BEFORE:
                assert trajectory.stop_reason == "answer" and trajectory.answer, trajectory.error
            else:
                assert trajectory.stop_reason == "error" and trajectory.answer == ""
                assert "unavailable" in trajectory.error or "circuit open" in trajectory.error, trajectory.error
        assert sum("circuit open" in first[d].error for d in range(KILL_BEFORE, N)) >= N - KILL_BEFORE - 2
        assert client.breaker("reconstruction").state is BreakerState.OPEN and client.breaker("depth").state is BreakerState.OPEN
        # Only the calls before each circuit opened were retried: depth's (the scene descriptor's
        # probes, which retrieval does without) and reconstruction's (the tools'), two calls of two retries each.
        assert client.stats.retries <= 2 * 2 * 2

        # a tool call now fails at once with a clear error observation
        observation = default_toolset().call(ToolContext(samples[0][0], client), "reconstruct_cameras", {}, "probe")
        assert not observation.ok and "reconstruction" in observation.error and "circuit open" in observation.error

        restarted = serve()
        assert restarted.grpc_url == server.grpc_url
        for _ in range(300):  # the client's channel reconnects by itself (backoff capped at 1 s)
            if client.ready():
                break
            time.sleep(0.1)
        time.sleep(client.breaker("reconstruction").retry_in_s() + 0.05)
        assert client.reconstruct([samples[0][0].frames[0]]).poses_c2w.shape == (1, 4, 4)  # the probe closes the circuit
        assert client.breaker("reconstruction").state is BreakerState.CLOSED

        rerun = Runner(ProgramPolicy(default_toolset()), client, log, run_id="fault", fingerprint="f0", concurrency=2)
        second = {t.doc_id: t for t in rerun.run(keys, lambda index: samples[index][0])}
        assert sorted(second) == list(range(N))
        counting = [d for d in range(N) if samples[d][0].task_type == "object_counting"]
        assert counting
        for doc_id, trajectory in second.items():
            assert trajectory.stop_reason == "answer", trajectory.error
        for doc_id in counting:  # oracle experts: exact counts
            assert second[doc_id].answer == samples[doc_id][1]
        assert len(read_trajectories(log.path)) == N + (N - KILL_BEFORE)  # only the failed ones were asked again
    finally:
        client.close()
        server.stop()
        if restarted is not None:
            restarted.stop()
