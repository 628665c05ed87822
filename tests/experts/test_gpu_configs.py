"""`skill3d-eval experts gpu-repository`: the copied repository's configs parse as Triton model
configs with the heavy models on the listed GPUs, the light ones untouched on CPU, batching
models with their queue delay, and launch parameters baked in; the source stays as it was."""

from __future__ import annotations

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from skill3d_eval.cli import main
from skill3d_eval.experts.gpu import GpuPlacement, PlacementError, gpu_repository
from skill3d_eval.settings import MODEL_REPOSITORY

KIND_GPU, KIND_CPU = model_config_pb2.ModelInstanceGroup.KIND_GPU, model_config_pb2.ModelInstanceGroup.KIND_CPU


def read_config(path) -> model_config_pb2.ModelConfig:
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def test_heavy_models_go_to_the_gpus_and_light_ones_stay_on_cpu(tmp_path):
    before = {p.parent.name: p.read_text() for p in MODEL_REPOSITORY.glob("*/config.pbtxt")}
    out = tmp_path / "gpu"
    placed = gpu_repository(MODEL_REPOSITORY, out, GpuPlacement(gpus=(0, 1), instances_per_gpu=2, parameters={"oracle_root": "/data/oracle"}))
    assert {p.model: p.kind for p in placed} == {
        "depth": "KIND_GPU", "detection": "KIND_GPU", "segmentation": "KIND_GPU", "reconstruction": "KIND_GPU",
        "super_resolution": "KIND_CPU", "orientation": "KIND_CPU",
    }
    for name in ("depth", "detection", "segmentation", "reconstruction"):
        config = read_config(out / name / "config.pbtxt")
        assert [(g.kind, g.count, list(g.gpus)) for g in config.instance_group] == [(KIND_GPU, 2, [0, 1])]
        assert config.parameters["oracle_root"].string_value == "/data/oracle" and config.name == name
        assert (out / name / "1" / "model.py").is_file()
    depth = read_config(out / "depth" / "config.pbtxt")
    assert depth.max_batch_size == 8 and depth.dynamic_batching.max_queue_delay_microseconds == 2000
    assert not read_config(out / "detection" / "config.pbtxt").HasField("dynamic_batching")  # max_batch_size 0: nothing to batch
    for name in ("super_resolution", "orientation"):
        config = read_config(out / name / "config.pbtxt")
        assert [(g.kind, g.count, list(g.gpus)) for g in config.instance_group] == [(KIND_CPU, 1, [])]
        assert config.parameters["oracle_root"].string_value == "/data/oracle"
    assert read_config(out / "orientation" / "config.pbtxt").dynamic_batching.max_queue_delay_microseconds == 500  # as shipped
    assert {p.parent.name: p.read_text() for p in MODEL_REPOSITORY.glob("*/config.pbtxt")} == before


def test_cli_places_every_model_it_is_not_told_to_keep_on_cpu(tmp_path, capsys):
    out = tmp_path / "gpu"
    assert main(["experts", "gpu-repository", "--repository", str(MODEL_REPOSITORY), "--out", str(out), "--gpus", "3", "--cpu-models"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "orientation" in printed
    for path in out.glob("*/config.pbtxt"):
        assert [(g.kind, list(g.gpus)) for g in read_config(path).instance_group] == [(KIND_GPU, [3])]
    assert read_config(out / "orientation" / "config.pbtxt").dynamic_batching.max_queue_delay_microseconds == 2000


def test_bad_placements_are_refused(tmp_path):
    with pytest.raises(PlacementError, match="--gpus must list distinct GPU ids"):
        gpu_repository(MODEL_REPOSITORY, tmp_path / "a", GpuPlacement(gpus=()))
    with pytest.raises(PlacementError, match=r"--gpus .* got \[0, 0\]"):
        gpu_repository(MODEL_REPOSITORY, tmp_path / "a", GpuPlacement(gpus=(0, 0)))
    with pytest.raises(PlacementError, match=r"--cpu-models \['superres'\] are not models"):
        gpu_repository(MODEL_REPOSITORY, tmp_path / "a", GpuPlacement(gpus=(0,), cpu_models=("superres",)))
    with pytest.raises(PlacementError, match="has no <model>/config.pbtxt"):
        gpu_repository(tmp_path, tmp_path / "a", GpuPlacement(gpus=(0,)))
    (tmp_path / "taken").mkdir()
    with pytest.raises(PlacementError, match="exists; choose a new directory"):
        gpu_repository(MODEL_REPOSITORY, tmp_path / "taken", GpuPlacement(gpus=(0,)))
    assert not (tmp_path / "a").exists()
