"""`skill3d-eval experts serve` and `experts status` as a user runs them (real processes, real Triton)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from skill3d_eval.experts.server import free_port

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "skill3d-eval")


def test_serve_prints_the_endpoint_and_status_lists_models(oracle_frames, tmp_path):
    grpc_port = free_port()
    serve = subprocess.Popen(
        [CLI, "experts", "serve", "--oracle-root", str(oracle_frames.root), "--models", "depth", "orientation",
         "--param", "noise_seed=3", "--grpc-port", str(grpc_port), "--log-file", str(tmp_path / "triton.log")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = serve.stdout.readline()
        assert f"triton gRPC 127.0.0.1:{grpc_port}" in line and "models depth orientation" in line
        status = subprocess.run([CLI, "experts", "status", "--url", f"127.0.0.1:{grpc_port}", "--json"], capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        assert report["ready"] and report["reachable"]
        models = {m["name"]: m for m in report["models"]}
        assert set(models) == {"depth", "detection", "orientation", "reconstruction", "segmentation", "super_resolution"}
        assert (models["depth"]["state"], models["depth"]["version"], models["depth"]["backend"]) == ("READY", "1", "oracle")
        assert models["orientation"]["ready"] and not models["detection"]["ready"]
        table = subprocess.run([CLI, "experts", "status", "--url", f"127.0.0.1:{grpc_port}"], capture_output=True, text=True, timeout=60)
        assert "depth" in table.stdout and "READY" in table.stdout and "oracle" in table.stdout
    finally:
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=60) == 0
    down = subprocess.run([CLI, "experts", "status", "--url", f"127.0.0.1:{grpc_port}"], capture_output=True, text=True, timeout=60)
    assert down.returncode == 1 and "unreachable" in down.stdout


def test_bad_param_is_a_usage_error():
    completed = subprocess.run([CLI, "experts", "serve", "--param", "no-equals-sign"], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 2 and "expected KEY=VALUE" in completed.stderr
