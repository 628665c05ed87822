"""Seeded oracle noise: reproducible per frame, reported in META, and served through Triton."""

from __future__ import annotations

import numpy as np
import pytest
from skill3d_experts.detection import OracleDetection
from skill3d_experts.noise import OracleNoise
from skill3d_experts.oracle_store import OracleStore

from skill3d_eval.experts import ExpertsClient, oracle_server

NOISE = {"noise_seed": "7", "depth_scale_error": "0.2", "box_jitter_px": "3", "miss_rate": "0.5", "pose_noise_deg": "2", "pose_noise_m": "0.05"}


def test_noise_is_a_function_of_seed_and_key_only():
    noise = OracleNoise.from_params("depth", NOISE)
    assert noise.depth_scale("frame-a") == OracleNoise.from_params("depth", NOISE).depth_scale("frame-a")
    assert noise.depth_scale("frame-a") != noise.depth_scale("frame-b")
    other_seed = OracleNoise.from_params("depth", {**NOISE, "noise_seed": "8"})
    assert other_seed.depth_scale("frame-a") != noise.depth_scale("frame-a")
    assert OracleNoise().depth_scale("frame-a") == 1.0 and not OracleNoise().enabled
    kept = noise.kept(2000, "frame-a", "chair")
    assert 0.45 < kept.mean() < 0.55
    pose = noise.perturb_pose(np.eye(4, dtype=np.float32), "frame-a")
    np.testing.assert_allclose(pose[:3, :3] @ pose[:3, :3].T, np.eye(3), atol=1e-5)  # still a rotation
    assert 0 < np.linalg.norm(pose[:3, 3]) < 1


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [("miss_rate", "1.5", "in \\[0, 1\\]"), ("box_jitter_px", "-1", ">= 0"), ("depth_scale_error", "x", "must be a number"), ("noise_seed", "1.5", "integer")],
)
def test_bad_noise_parameters_fail_naming_the_key(key, value, message):
    with pytest.raises(ValueError, match=rf"detection: config parameter '{key}' .*{message}"):
        OracleNoise.from_params("detection", {key: value})


def test_detection_noise_drops_and_jitters_reproducibly(oracle_frames):
    store = OracleStore(oracle_frames.root)
    image = oracle_frames["a1"].image
    exact = OracleDetection(store).predict(image, ["chair", "table"])
    noisy = OracleDetection(store, OracleNoise.from_params("detection", {**NOISE, "miss_rate": "0"})).predict(image, ["chair", "table"])
    assert noisy.meta["instance_ids"] == exact.meta["instance_ids"]
    assert 0 < np.abs(noisy.boxes - exact.boxes).max() < 15
    assert noisy.meta["noise"]["box_jitter_px"] == 3.0
    dropping = OracleDetection(store, OracleNoise.from_params("detection", {**NOISE, "miss_rate": "1"})).predict(image, ["chair"])
    assert dropping.boxes.shape == (0, 4)


@pytest.mark.integration
def test_noisy_server_is_reproducible_and_reports_its_noise(oracle_frames, tmp_path):
    frame = oracle_frames["a0"]
    parameters = {**NOISE, "miss_rate": "0"}
    with oracle_server(oracle_frames.root, models=["depth", "reconstruction"], parameters=parameters, log_file=tmp_path / "t.log") as server:
        with ExpertsClient(server.grpc_url, timeout_s=10.0) as experts:
            first, second = experts.depth(frame.image), experts.depth(frame.image)
            scale = first.meta["noise"]["applied_depth_scale"]
            assert scale != 1.0 and first.meta["noise"]["seed"] == 7 and first.meta["noise"]["depth_scale_error"] == 0.2
            np.testing.assert_array_equal(first.depth, second.depth)
            np.testing.assert_allclose(first.depth, frame.truth.depth * np.float32(scale), rtol=1e-6)
            poses = experts.reconstruct([frame.image, oracle_frames["a1"].image]).poses_c2w
            exact = np.linalg.inv(frame.truth.pose_c2w.astype(np.float64)) @ oracle_frames["a1"].truth.pose_c2w
            np.testing.assert_allclose(poses[0], np.eye(4), atol=1e-6)
            assert 1e-4 < np.abs(poses[1] - exact).max() < 0.5
