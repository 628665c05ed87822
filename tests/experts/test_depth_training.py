"""Depth training for the `real` backend: a few steps on a handful of training frames, exported,
served by Triton — the served depth is what the trainer's own forward pass predicts (same
resize, normalisation, scale), the served K is the synth camera's, and test scenes are refused."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from transformers import AutoImageProcessor, DepthAnythingForDepthEstimation

from skill3d_eval.experts import ExpertsClient, TritonServer
from skill3d_eval.experts.depth_training import (
    DepthTrainingConfig,
    DepthTrainingError,
    DepthTrainingRecord,
    extra_frames,
    load_frames,
    predict,
    split_scenes,
    train_depth,
)
from skill3d_eval.experts.export import export_model
from skill3d_eval.synth.generate import scene_name
from skill3d_eval.settings import EXPERTS_VENV, MODEL_REPOSITORY

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "skill3d-eval")


def tiny(scenes: tuple[str, ...], **changes) -> DepthTrainingConfig:
    """Half the frame's resolution, so serving has to resize in and out exactly as training did."""
    settings = dict(
        max_steps=48, batch_size=8, learning_rate=3e-3, hidden_size=32, layers=2, heads=2, fusion_hidden_size=16,
        height=96, width=128, patch_size=8, scenes=scenes, frames_per_scene=2, extra_scenes=0,
    )
    return DepthTrainingConfig(**{**settings, **changes})


@pytest.fixture(scope="module")
def trained(synth_root, tmp_path_factory) -> tuple[Path, DepthTrainingRecord]:
    checkpoint = tmp_path_factory.mktemp("depth") / "checkpoint"
    scenes = split_scenes(synth_root)["train"][:2]
    return checkpoint, train_depth(synth_root, checkpoint, tiny(scenes))


def test_training_reads_only_the_asked_training_frames_and_its_loss_decreases(trained, synth_root):
    checkpoint, record = trained
    assert record.scenes == split_scenes(synth_root)["train"][:2] and record.frames == 4 and record.steps == 48
    assert np.mean(record.losses[-4:]) < 0.8 * np.mean(record.losses[:4])
    assert DepthTrainingRecord.load(checkpoint) == record
    assert record.fov_deg == pytest.approx(np.degrees(2 * np.arctan(0.5 / 0.8)))  # fx = 0.8 W (skill3d_eval.synth.camera)


def test_served_depth_is_the_trainers_prediction_through_the_synth_camera(trained, synth_root, tmp_path):
    checkpoint, record = trained
    repository = tmp_path / "repository"
    shutil.copytree(MODEL_REPOSITORY / "depth", repository / "depth", ignore=shutil.ignore_patterns("__pycache__"))
    exported = export_model("depth", checkpoint, repository, parameters={"fov_deg": repr(record.fov_deg)})
    frames = load_frames(synth_root, "train", record.scenes[:1], 1) + load_frames(synth_root, "test", split_scenes(synth_root)["test"][:1], 1)
    model = DepthAnythingForDepthEstimation.from_pretrained(checkpoint)
    processor = AutoImageProcessor.from_pretrained(checkpoint)
    with TritonServer(repository, EXPERTS_VENV, models=["depth"], log_file=tmp_path / "triton.log") as server:
        with ExpertsClient(server.grpc_url, timeout_s=60.0) as experts:
            for frame in frames:
                served = experts.depth(frame.image)
                assert served.meta["backend"] == "real" and served.meta["model_version"] == str(exported.version)
                expected = predict(model, processor, [frame.image])[0]
                assert served.depth.shape == frame.depth.shape
                # Triton's Python backend runs torch 2.13 (.venv-experts), this test 2.14: their
                # bicubic kernels differ in the last float32 bits (up to 3e-4 relative at 640x480);
                # a wrong resize, normalisation or scale is off by percents.
                np.testing.assert_allclose(served.depth, expected, rtol=1e-3, atol=1e-3)
                np.testing.assert_allclose(served.intrinsics, frame.intrinsics, atol=1e-3)


def test_extra_training_rooms_are_new_scenes_outside_both_splits(synth_root):
    """The generated rooms continue the dataset's scene indices: none is a dataset scene, none of
    their frames is a dataset frame (the oracle store knows every one), and a second call reads
    the same frames back from the cache."""
    from skill3d_experts.oracle_store import OracleMiss, OracleStore

    splits = split_scenes(synth_root)
    dataset_scenes = len(splits["train"]) + len(splits["test"])
    frames = extra_frames(synth_root, 2)
    assert [f.scene for f in frames] == [scene_name(dataset_scenes)] * 8 + [scene_name(dataset_scenes + 1)] * 8
    assert [f.frame_index for f in frames] == list(range(8)) * 2
    store = OracleStore(synth_root / "oracle")
    for frame in frames:
        assert frame.image.dtype == np.uint8 and frame.depth.shape == frame.image.shape[:2] and np.all(frame.depth > 0)
        np.testing.assert_allclose(frame.intrinsics, load_frames(synth_root, "train", splits["train"][:1], 1)[0].intrinsics, atol=1e-4)
        with pytest.raises(OracleMiss):
            store.get(frame.image)
    again = extra_frames(synth_root, 2)
    assert all(np.array_equal(a.image, b.image) and np.array_equal(a.depth, b.depth) for a, b in zip(frames, again))


def test_training_refuses_test_scenes(synth_root, tmp_path):
    splits = split_scenes(synth_root)
    test_scene = splits["test"][0]
    with pytest.raises(DepthTrainingError, match=rf"{test_scene} \(test split\)"):
        train_depth(synth_root, tmp_path / "checkpoint", tiny((splits["train"][0], test_scene)))
    with pytest.raises(DepthTrainingError, match=r"synth_9999 \(no such scene\)"):
        train_depth(synth_root, tmp_path / "checkpoint", tiny(("synth_9999",)))
    assert not (tmp_path / "checkpoint").exists()


def test_cli_names_a_missing_dataset(tmp_path):
    completed = subprocess.run(
        [CLI, "experts", "train-depth", "--out", str(tmp_path / "out"), "--synth-root", str(tmp_path / "nowhere")],
        capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 2 and "nowhere/meta.json not found" in completed.stderr
