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


def test_scene_dependent_failure_modes_follow_what_the_frame_shows(oracle_frames):
    """Each documented failure mode, on the hand-made frame: chair 1 (2,400 px) sits 40 px above chair 2 (1,500 px)."""
    from skill3d_experts.depth import OracleDepth
    from skill3d_experts.reconstruction import OracleReconstruction
    from skill3d_experts.segmentation import OracleSegmentation

    store = OracleStore(oracle_frames.root)
    frame = oracle_frames["a0"]

    def noisy(**levels: str) -> OracleNoise:
        return OracleNoise.from_params("any", levels)

    # a view within the depth range is exact, a deeper one reads 1 + k (median - range) too far
    bias = noisy(depth_error_per_m="0.1", depth_range_m="4")
    near, far = np.full((4, 4), 3.0, np.float32), np.full((4, 4), 6.0, np.float32)
    np.testing.assert_array_equal(bias.bias_depth(near), near)
    np.testing.assert_allclose(bias.bias_depth(far), far * 1.2, rtol=1e-6)
    served = OracleDepth(store, noisy(depth_error_per_m="0.1", depth_range_m="1")).predict(frame.image).depth
    np.testing.assert_allclose(served, frame.truth.depth * (1 + 0.1 * (np.median(frame.truth.depth) - 1)), rtol=1e-5)

    # beyond the range each object also reads at its own wrong depth, drawn once per (scene, object), the further the worse
    objects = noisy(depth_object_error_per_m="0.3", depth_range_m="4")
    instances = np.array([[0, 1], [2, 2]])
    np.testing.assert_array_equal(objects.bias_depth(near, np.zeros((4, 4), int), "s"), near)
    within = objects.bias_depth(np.full((2, 2), 3.0, np.float32), instances, "s")
    np.testing.assert_array_equal(within, np.full((2, 2), 3.0))  # a view within the range: exact, objects too
    beyond = objects.bias_depth(np.full((2, 2), 5.0, np.float32), instances, "s")
    assert beyond[0, 0] == 5.0 and beyond[1, 0] == beyond[1, 1] != 5.0 != beyond[0, 1] != beyond[1, 0]  # the room exact, each object its own factor
    further = objects.bias_depth(np.full((2, 2), 6.0, np.float32), instances, "s")
    np.testing.assert_allclose(np.log(further / 6), 2 * np.log(beyond / 5), rtol=1e-5)  # same object, twice as far beyond: twice the log error
    assert not np.array_equal(objects.bias_depth(np.full((2, 2), 5.0, np.float32), instances, "other scene"), beyond)
    factors = [objects.bias_depth(np.full((1, 2), 5.0, np.float32), np.array([[0, i]]), "s")[0, 1] / 5 for i in range(1, 400)]
    assert np.std(np.log(factors)) == pytest.approx(0.3, rel=0.15)  # 1 m beyond: σ = k
    served = OracleDepth(store, noisy(depth_object_error_per_m="0.3", depth_range_m="0")).predict(frame.image).depth
    objects_in_view = np.unique(frame.truth.instances[frame.truth.instances > 0])
    ratios = [np.unique(np.round(served[frame.truth.instances == i] / frame.truth.depth[frame.truth.instances == i], 4)) for i in objects_in_view]
    assert all(len(r) == 1 for r in ratios) and len({float(r[0]) for r in ratios}) == len(objects_in_view) >= 2
    np.testing.assert_array_equal(served[frame.truth.instances == 0], frame.truth.depth[frame.truth.instances == 0])

    drift = noisy(reconstruction_drift="0.08", reconstruction_baseline_m="3")
    assert abs(drift.reconstruction_scale(["k"] * 16, 2.0) - 1) == pytest.approx(0.08)  # 1 m short of the baseline it needs
    assert abs(drift.reconstruction_scale(["k"] * 4, 2.0) - 1) == pytest.approx(0.16)  # fewer views, larger drift
    assert abs(drift.reconstruction_scale(["k"] * 16, 1.0) - 1) == pytest.approx(0.16)  # a shorter camera path, too
    assert drift.reconstruction_scale(["k"] * 16, 3.0) == drift.reconstruction_scale(["k"] * 16, 5.0) == 1.0  # a long enough path is exact
    assert noisy(reconstruction_drift="0.08").reconstruction_scale(["k"] * 16, 0.1) == 1.0  # no baseline asked for, no drift
    wild = noisy(reconstruction_drift="5", reconstruction_baseline_m="3")
    assert min(wild.reconstruction_scale([f"scene-{i}"] * 2, 0.0) for i in range(20)) == 0.1  # shrinks, never to 0 or a mirror image
    signs = {np.sign(drift.reconstruction_scale([f"scene-{i}"] * 16, 2.0) - 1) for i in range(20)}
    assert signs == {-1.0, 1.0}  # seeded per scene, both ways
    views = np.stack([oracle_frames["a0"].image, oracle_frames["a1"].image])
    exact = OracleReconstruction(store).predict(views, points=True)
    drifted = OracleReconstruction(store, drift).predict(views, points=True)
    scale = drifted.meta["applied_reconstruction_scale"]
    np.testing.assert_allclose(drifted.points, exact.points * scale, rtol=1e-5)  # one consistent scale about camera 0
    np.testing.assert_array_equal(drifted.poses_c2w, exact.poses_c2w)

    # two views with little parallax: the second camera sometimes comes out mirrored through the first
    flip = noisy(two_view_flip_rate="1", reconstruction_baseline_m="4")
    assert not flip.two_view_flipped(["a", "b"], 4.0) and not flip.two_view_flipped(["a", "b", "c"], 0.0)  # a long baseline, or more views: never
    chances = [np.mean([flip.two_view_flipped([f"a{i}", f"b{i}"], baseline) for i in range(400)]) for baseline in (1.0, 3.0)]
    assert 0.65 < chances[0] < 0.85 and 0.15 < chances[1] < 0.35  # rate * (1 - baseline / B)
    assert flip.two_view_flipped(["a1", "b1"], 1.0) == flip.two_view_flipped(["a1", "b1"], 1.0)  # drawn once per pair
    baseline = float(np.linalg.norm(exact.poses_c2w[1, :3, 3]))
    always = OracleReconstruction(store, noisy(two_view_flip_rate="1", reconstruction_baseline_m=str(1e6))).predict(views, points=True)
    assert always.meta["applied_two_view_flip"] and baseline > 0
    np.testing.assert_allclose(always.poses_c2w[1, :3, 3], -exact.poses_c2w[1, :3, 3], atol=1e-6)
    np.testing.assert_array_equal(always.poses_c2w[:, :3, :3], exact.poses_c2w[:, :3, :3])
    np.testing.assert_allclose(always.points[0], exact.points[0], atol=1e-6)  # the first view's point map is its own depth
    with pytest.raises(ValueError, match="two_view_flip_rate"):
        noisy(two_view_flip_rate="1.5")

    separate = OracleSegmentation(store, noisy(merge_gap_px="39")).predict(frame.image, "chair")
    merged = OracleSegmentation(store, noisy(merge_gap_px="40")).predict(frame.image, "chair")
    assert len(separate.masks) == 2 and len(merged.masks) == 1
    assert len(OracleSegmentation(store, noisy(merge_gap_px="40", merge_min_instances="4")).predict(frame.image, "chair").masks) == 2  # 3 objects in view: not cluttered
    assert len(OracleSegmentation(store, noisy(merge_gap_px="40", merge_min_instances="3")).predict(frame.image, "chair").masks) == 1
    assert merged.masks[0].sum() == separate.masks.sum() and merged.meta["noise"]["merge_gap_px"] == 40
    by_box = OracleSegmentation(store, noisy(merge_gap_px="40")).predict_boxes(frame.image, separate.boxes)
    assert len(by_box.masks) == 2  # box prompts never merge

    small_missed = OracleDetection(store, noisy(detection_min_area_px="2000")).predict(frame.image, ["chair"])
    assert small_missed.meta["instance_ids"] == [1]
    assert OracleDetection(store, noisy(detection_min_area_px="1000")).predict(frame.image, ["chair"]).meta["instance_ids"] == [1, 2]
