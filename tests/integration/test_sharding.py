"""Scale-out with existing engines: lmms-eval's own rank/world-size split over two processes
(torchrun), and the experts client spreading calls over two Triton replicas."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from skill3d_eval.trajectory_log import read_trajectories
from skill3d_eval.evaluate import lmms_eval_command
from skill3d_eval.experts import ExpertsClient, ExpertUnavailable, oracle_server
from skill3d_eval.experts.ports import free_port
from skill3d_eval.experts.replicas import ReplicaPool

pytestmark = pytest.mark.integration


def inferences(url: str) -> int:
    with grpcclient.InferenceServerClient(url) as client:
        stats = client.get_inference_statistics(as_json=True)
    return sum(int(s.get("inference_stats", {}).get("success", {}).get("count", 0)) for s in stats["model_stats"])


def test_two_ranks_and_two_triton_replicas(synth_root, tmp_path):
    with oracle_server(synth_root / "oracle", log_file=tmp_path / "a.log") as a, oracle_server(synth_root / "oracle", log_file=tmp_path / "b.log") as b:
        command = lmms_eval_command(
            ["spatial_synth"],
            {"policy": "program", "triton_url": f"{a.grpc_url}|{b.grpc_url}", "output_dir": tmp_path / "runs", "run_name": "sharded"},
            tmp_path / "out",
            limit=10,
        )
        torchrun = [str(Path(sys.executable).parent / "torchrun"), "--nproc_per_node", "2", "--master_port", str(free_port()), "-m", "lmms_eval", *command[1:]]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
        completed = subprocess.run(torchrun, env=env, capture_output=True, text=True, timeout=180)
        log = completed.stdout + completed.stderr
        assert "Running on rank 1" in log, log[-3000:]
        assert inferences(a.grpc_url) > 0 and inferences(b.grpc_url) > 0, "both replicas should have served calls"

    results_files = list((tmp_path / "out").rglob("*_results.json"))
    assert completed.returncode == 0 and len(results_files) == 1, log[-4000:]
    (results_file,) = results_files
    results = json.loads(results_file.read_text())
    assert results["n-samples"]["spatial_synth"]["effective"] == 10
    assert results["results"]["spatial_synth"]["spatial_synth_overall,none"] >= 0.95
    trajectories = read_trajectories(tmp_path / "runs" / "sharded" / "trajectories.jsonl")
    assert sorted(t.doc_id for t in trajectories) == list(range(10)), "each sample answered once, by one rank"


def test_pool_fails_over_from_a_dead_replica(synth_root, tmp_path):
    with oracle_server(synth_root / "oracle", log_file=tmp_path / "live.log") as live:
        frame = np.zeros((8, 8, 3), np.uint8)
        with ReplicaPool.from_urls(["127.0.0.1:1", live.grpc_url], timeout_s=5) as pool:
            for _ in range(4):
                with pytest.raises(Exception) as info:
                    pool.depth(frame)  # the live replica rejects an unknown frame: not failed over
                assert not isinstance(info.value, ExpertUnavailable)
            assert pool._down_until[0] > 0 and pool._down_until[1] == 0
        with ReplicaPool([ExpertsClient("127.0.0.1:1", timeout_s=2)]) as dead, pytest.raises(ExpertUnavailable, match="all 1 replicas unavailable"):
            dead.depth(frame)
