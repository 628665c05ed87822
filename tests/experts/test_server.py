"""The launcher: clean stop, load failures with the server's own words, unloaded models."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from skill3d_eval.settings import EXPERTS_VENV, MODEL_REPOSITORY
from skill3d_eval.experts import (
    ExpertsClient,
    ExpertServerError,
    ExpertUnavailable,
    TritonServer,
    oracle_server,
)

pytestmark = pytest.mark.integration  # starts a real Triton server


def _gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)  # the server leads its own process group (backend stubs included)
    except ProcessLookupError:
        return True
    return False


def test_stop_is_clean_and_idempotent(oracle_frames, tmp_path):
    log_file = tmp_path / "triton.log"
    server = oracle_server(oracle_frames.root, models=["depth"], log_file=log_file)
    with server:
        pid = server.pid
        assert server.running() and not _gone(pid)
        client = ExpertsClient(server.grpc_url, timeout_s=5.0)
        assert client.depth(oracle_frames["a0"].image).depth.shape == (192, 256)
        with pytest.raises(ExpertUnavailable) as raised:  # a model the server was not asked to load
            client.segment(oracle_frames["a0"].image, "chair")
        assert raised.value.model == "segmentation"
        client.close()
    assert not server.running() and _gone(pid)
    server.stop()  # a second stop is a no-op
    assert "successfully loaded 'depth'" in log_file.read_text()
    with ExpertsClient(server.grpc_url, timeout_s=2.0) as client:
        assert not client.ready()


def test_default_log_temp_dir_shared_memory_and_watchdog_are_removed(oracle_frames):
    server = oracle_server(oracle_frames.root, models=["reconstruction"])
    with server:
        workdir, prefix = server.workdir, server.shm_prefix
        watchdog = server._watchdog.process
        assert server.log_file.parent == workdir and server.log_file.is_file()
        assert list(Path("/dev/shm").glob(f"{prefix}*")), "the Python backend's regions carry the server's prefix"
        assert watchdog.poll() is None
    assert not workdir.exists() and not list(Path("/dev/shm").glob(f"{prefix}*"))
    assert watchdog.poll() == 0, "a clean stop lets the watchdog finish at once"


def test_unknown_backend_fails_to_load_with_a_clear_error(oracle_frames, tmp_path):
    repository = tmp_path / "repository"
    shutil.copytree(MODEL_REPOSITORY / "depth", repository / "depth")
    config = repository / "depth" / "config.pbtxt"
    config.write_text(config.read_text().replace('string_value: "oracle"', 'string_value: "bogus"'))
    server = TritonServer(repository, EXPERTS_VENV, parameters={"oracle_root": str(oracle_frames.root)})
    began = time.monotonic()
    with pytest.raises(ExpertServerError, match=r"model 'depth' failed to load") as raised:
        server.start()
    assert "unknown backend 'bogus'" in str(raised.value)
    assert raised.value.model == "depth"
    assert "tritonserver log" in str(raised.value) and raised.value.log_tail
    assert not server.running() and time.monotonic() - began < 30


def test_oracle_without_a_root_fails_to_load(tmp_path):
    server = TritonServer(
        MODEL_REPOSITORY,
        EXPERTS_VENV,
        models=["segmentation"],
        parameters={"oracle_root": str(tmp_path / "missing")},
    )
    with pytest.raises(ExpertServerError, match="oracle_root .* is not a directory"):
        server.start()
    server.stop()


def test_a_misspelt_config_parameter_fails_the_load_instead_of_changing_nothing(oracle_frames):
    server = TritonServer(
        MODEL_REPOSITORY, EXPERTS_VENV, models=["depth"], parameters={"oracle_root": str(oracle_frames.root), "depth_scale_noise": "0.1"}
    )
    with pytest.raises(ExpertServerError, match=r"depth: unknown config parameter\(s\) \['depth_scale_noise'\] \(known: .*depth_scale_error"):
        server.start()
    server.stop()


def test_missing_model_and_missing_venv_are_reported_before_launch(tmp_path):
    with pytest.raises(ExpertServerError, match="no config.pbtxt"):
        TritonServer(MODEL_REPOSITORY, EXPERTS_VENV, models=["teleportation"]).start()
    with pytest.raises(ExpertServerError, match="no bin/python"):
        TritonServer(MODEL_REPOSITORY, tmp_path).start()


def test_config_override_keeps_the_model_config(oracle_frames):
    import json

    from skill3d_eval.experts.server import config_override

    config = json.loads(config_override(MODEL_REPOSITORY / "depth" / "config.pbtxt", {"oracle_root": "/x"}))
    assert config["name"] == "depth" and config["max_batch_size"] == 8
    assert config["parameters"]["oracle_root"] == {"string_value": "/x"}
    assert config["parameters"]["backend"] == {"string_value": "oracle"}
    assert [tensor["name"] for tensor in config["output"]] == ["DEPTH", "INTRINSICS", "META"]
    assert "dynamic_batching" in config


def test_startup_timeout_is_reported_and_cleaned_up(oracle_frames):
    server = oracle_server(oracle_frames.root, models=["depth"], startup_timeout_s=0.001)
    with pytest.raises(ExpertServerError, match="not ready after|failed to load"):
        server.start()
    assert not server.running()
