"""`experts_checkpoints`: where each expert's checkpoint comes from, and the repository that serves them in place."""

from __future__ import annotations

import json

import huggingface_hub.constants
import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from skill3d_eval.experts import EXPERT_MODELS
from skill3d_eval.experts.checkpoints import CheckpointError, assemble_repository, resolve_checkpoints
from skill3d_eval.settings import MODEL_REPOSITORY
from skill3d_eval.testing.tiny_experts import tiny_onnx_reconstructor, tiny_sam


def _config(path):
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def test_a_directory_maps_each_expert_to_its_sub_directory(tmp_path):
    (tmp_path / "depth").mkdir()
    (tmp_path / "segmentation").mkdir()
    (tmp_path / "notes").mkdir()
    assert resolve_checkpoints(str(tmp_path), EXPERT_MODELS) == {"depth": tmp_path / "depth", "segmentation": tmp_path / "segmentation"}
    with pytest.raises(CheckpointError, match="is not a directory"):
        resolve_checkpoints(str(tmp_path / "missing"), EXPERT_MODELS)


def test_a_mapping_takes_directories_and_ids_from_the_local_hf_cache_only(tmp_path, monkeypatch):
    cache = tmp_path / "hub"
    snapshot = cache / "models--org--metric-depth" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (cache / "models--org--metric-depth" / "refs").mkdir()
    (cache / "models--org--metric-depth" / "refs" / "main").write_text("a" * 40)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    (tmp_path / "sam").mkdir()

    spec = json.dumps({"depth": "org/metric-depth", "segmentation": str(tmp_path / "sam")})
    assert resolve_checkpoints(spec, EXPERT_MODELS) == {"depth": snapshot, "segmentation": tmp_path / "sam"}
    with pytest.raises(CheckpointError, match=r"'org/not-downloaded' is neither a directory nor in the local Hugging Face cache.*hf download org/not-downloaded"):
        resolve_checkpoints({"depth": "org/not-downloaded"}, EXPERT_MODELS)
    with pytest.raises(CheckpointError, match=r"unknown experts \['dept'\]"):
        resolve_checkpoints({"dept": str(tmp_path / "sam")}, EXPERT_MODELS)
    with pytest.raises(CheckpointError, match="not a valid JSON object"):
        resolve_checkpoints('{"depth": ', EXPERT_MODELS)
    with pytest.raises(CheckpointError, match="'/nowhere/sam' is not a directory"):
        resolve_checkpoints({"segmentation": "/nowhere/sam"}, EXPERT_MODELS)


def test_the_assembled_repository_serves_checkpoints_in_place_and_checks_them(tmp_path):
    sam, recon = tiny_sam(tmp_path / "sam"), tiny_onnx_reconstructor(tmp_path / "recon")
    repository = assemble_repository(MODEL_REPOSITORY, {"segmentation": sam, "reconstruction": recon}, tmp_path / "repo")

    for name in EXPERT_MODELS:
        assert (repository / name / "1" / "model.py").is_file()
    for name, checkpoint in (("segmentation", sam), ("reconstruction", recon)):
        config = _config(repository / name / "config.pbtxt")
        assert config.parameters["backend"].string_value == "real"
        assert config.parameters["checkpoint"].string_value == str(checkpoint.resolve())
        assert sorted(p.name for p in (repository / name / "2").iterdir()) == ["model.py"]  # nothing copied
    assert _config(repository / "depth" / "config.pbtxt").parameters["backend"].string_value == "oracle"

    with pytest.raises(CheckpointError, match=r"experts_checkpoints: .*'sam' model; depth accepts depth_anything"):
        assemble_repository(MODEL_REPOSITORY, {"depth": sam}, tmp_path / "repo2")
