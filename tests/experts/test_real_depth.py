"""The `real` depth backend: a tiny random Depth Anything built from a config, exported with
`skill3d-eval experts export`, served by Triton and called through the client — real
preprocessing, forward pass and post-processing; only the weights are random."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skill3d_eval.experts import ExpertsClient, TritonServer
from skill3d_eval.experts.export import ExportError, export_model
from skill3d_eval.testing.tiny_experts import tiny_depth_anything
from skill3d_eval.settings import EXPERTS_VENV, MODEL_REPOSITORY

CLI = str(Path(sys.executable).parent / "skill3d-eval")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return tiny_depth_anything(tmp_path_factory.mktemp("tiny") / "depth-anything-tiny")


@pytest.fixture()
def repository(tmp_path) -> Path:
    shutil.copytree(MODEL_REPOSITORY, tmp_path / "repository")
    return tmp_path / "repository"


@pytest.mark.integration
def test_export_serve_and_call_a_tiny_depth_anything(checkpoint, repository, tmp_path):
    completed = subprocess.run(
        [CLI, "experts", "export", "depth", "--checkpoint", str(checkpoint), "--format", "hf", "--repository", str(repository)],
        capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert "exported depth version 2" in completed.stdout
    version_dir = repository / "depth" / "2"
    assert (version_dir / "model.py").is_file() and (version_dir / "checkpoint" / "config.json").is_file()
    config = (repository / "depth" / "config.pbtxt").read_text()
    assert 'string_value: "real"' in config and 'string_value: "checkpoint"' in config
    with TritonServer(repository, EXPERTS_VENV, models=["depth"], log_file=tmp_path / "triton.log") as server:
        with ExpertsClient(server.grpc_url, timeout_s=60.0) as experts:
            rng = np.random.default_rng(0)
            for height, width in ((96, 128), (150, 200)):
                image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
                result = experts.depth(image)
                assert result.depth.dtype == np.float32 and result.depth.shape == (height, width)
                assert np.isfinite(result.depth).all() and (result.depth > 0).all() and result.depth.max() <= 10
                focal = (width / 2) / np.tan(np.deg2rad(30))
                np.testing.assert_allclose(result.intrinsics, [[focal, 0, (width - 1) / 2], [0, focal, (height - 1) / 2], [0, 0, 1]], rtol=1e-6)
                assert result.meta["backend"] == "real" and result.meta["model_version"] == "2"
                assert result.meta["checkpoint"] == "checkpoint"


def test_export_rejects_wrong_models_formats_and_checkpoints(checkpoint, repository, tmp_path):
    with pytest.raises(ExportError, match="not supported .*supported: hf"):
        export_model("depth", checkpoint, repository, "onnx")
    with pytest.raises(ExportError, match="no model 'teleport'"):
        export_model("teleport", checkpoint, repository)
    with pytest.raises(ExportError, match="no config.json"):
        export_model("depth", tmp_path, repository)
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(ExportError, match="'bert' model; depth accepts depth_anything"):
        export_model("depth", other, repository)
    assert sorted(p.name for p in (repository / "depth").iterdir()) == ["1", "config.pbtxt"]  # nothing written
    completed = subprocess.run([CLI, "experts", "export", "depth", "--checkpoint", str(other), "--repository", str(repository)], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 2 and "accepts depth_anything" in completed.stderr
