"""Detection, super-resolution, orientation, box-prompted segmentation, point maps and novel
views through `ExpertsClient` against a real Triton server: shapes, dtypes, exact oracle values."""

from __future__ import annotations

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from skill3d_experts.oracle_store import frame_key

from skill3d_eval.experts import ExpertInputError, ExpertRequestError

pytestmark = pytest.mark.integration  # starts a real Triton server

# Hand-made frames (conftest): a1 was made with seed 1 — chair 1 rows 21..59, cols 30..89;
# chair 2 rows 100..149, cols 15..44; table rows 90..179, cols 150..239 minus the pixel (175, 200).
CHAIR_1, CHAIR_2, TABLE = [30, 21, 90, 60], [15, 100, 45, 150], [150, 90, 240, 180]


def test_detection_boxes_per_prompt_in_prompt_order(experts, oracle_frames):
    frame = oracle_frames["a1"]
    result = experts.detect(frame.image, ["table", "chairs", "sofa"])
    assert result.boxes.dtype == np.float32 and result.boxes.shape == (3, 4)
    assert result.scores.dtype == np.float32 and result.scores.tolist() == [1.0, 1.0, 1.0]
    assert result.prompt_index.dtype == np.int32 and result.prompt_index.tolist() == [0, 1, 1]
    np.testing.assert_array_equal(result.boxes, [TABLE, CHAIR_1, CHAIR_2])
    assert result.labels == ["table", "chair", "chair"] and len(result) == 3
    assert result.meta["instance_ids"] == [3, 1, 2] and result.meta["prompts"] == ["table", "chairs", "sofa"]
    assert result.meta["frame_key"] == frame_key(frame.image) and result.meta["model"] == "detection"


def test_detection_of_nothing_is_empty_and_bad_prompts_are_rejected(experts, oracle_frames):
    image = oracle_frames["b0"].image
    empty = experts.detect(image, "lamp")  # a known label no pixel shows
    assert empty.boxes.shape == (0, 4) and empty.prompt_index.shape == (0,) and empty.labels == []
    with pytest.raises(ExpertInputError, match="prompts"):
        experts.detect(image, [])
    with pytest.raises(ExpertInputError, match="prompts"):
        experts.detect(image, ["chair", " "])


def test_tritonclient_sees_the_documented_detection_contract(triton_server, oracle_frames):
    """The raw contract, as a non-Python client would use it."""
    image = oracle_frames["a1"].image
    with grpcclient.InferenceServerClient(triton_server.grpc_url) as client:
        inputs = [grpcclient.InferInput("IMAGE", list(image.shape), "UINT8"), grpcclient.InferInput("PROMPTS", [1], "BYTES")]
        inputs[0].set_data_from_numpy(image)
        inputs[1].set_data_from_numpy(np.array([b"chair"], dtype=np.object_))
        result = client.infer("detection", inputs)
        assert result.as_numpy("BOXES").dtype == np.float32 and result.as_numpy("PROMPT_INDEX").dtype == np.int32
        np.testing.assert_array_equal(result.as_numpy("BOXES"), [CHAIR_1, CHAIR_2])
        config = client.get_model_config("orientation", as_json=True)["config"]
        assert config["max_batch_size"] == 8 and "dynamic_batching" in config
        assert [tensor["name"] for tensor in config["output"]] == ["ANGLES", "CONFIDENCE", "META"]


def test_segmentation_with_box_prompts_gives_one_mask_per_box(experts, oracle_frames):
    frame = oracle_frames["a1"]
    result = experts.segment(frame.image, boxes=[[25, 15, 95, 65], [0, 0, 10, 10], TABLE])
    assert result.masks.shape == (3, 192, 256) and result.masks.dtype == np.bool_
    np.testing.assert_array_equal(result.masks[0], frame.truth.instances == 1)
    assert not result.masks[1].any()
    np.testing.assert_array_equal(result.masks[2], frame.truth.instances == 3)
    assert result.labels == ["chair", "", "table"] and result.scores.tolist() == [1.0, 0.0, 1.0]
    np.testing.assert_array_equal(result.boxes, [CHAIR_1, [0, 0, 0, 0], TABLE])
    with pytest.raises(ExpertInputError, match="exactly one of prompt"):
        experts.segment(frame.image, "chair", boxes=[TABLE])
    with pytest.raises(ExpertInputError, match=r"boxes\[0\]"):
        experts.segment(frame.image, boxes=[[10, 10, 5, 20]])


def test_super_resolution_replicates_pixels(experts, oracle_frames):
    crop = oracle_frames["a0"].image[20:30, 40:52]
    result = experts.super_resolve(crop)
    assert result.image.dtype == np.uint8 and result.image.shape == (20, 24, 3) and result.scale == 2
    np.testing.assert_array_equal(result.image[::2, ::2], crop)
    np.testing.assert_array_equal(result.image[1::2, 1::2], crop)
    assert result.meta["input_size"] == [10, 12] and result.meta["model"] == "super_resolution"


def _expected_angles(frame, instance_id):
    """The documented definition, computed here from the truth: object→camera direction in world axes."""
    truth = frame.truth
    rows, cols = np.nonzero(truth.instances == instance_id)
    z = truth.depth[rows, cols].astype(np.float64)
    k = truth.intrinsics.astype(np.float64)
    centroid = np.array([((cols - k[0, 2]) * z / k[0, 0]).mean(), ((rows - k[1, 2]) * z / k[1, 1]).mean(), z.mean()])
    to_camera = truth.pose_c2w[:3, :3].astype(np.float64) @ -centroid
    to_camera /= np.linalg.norm(to_camera)
    return np.degrees(np.arctan2(to_camera[1], to_camera[0])) % 360, np.degrees(np.arcsin(to_camera[2]))


def test_orientation_angles_and_confidence(experts, oracle_frames):
    frame = oracle_frames["a0"]  # camera yaw 30°, level: it looks along (cos 30°, sin 30°, 0)
    result = experts.orient(frame.image, TABLE)
    azimuth, elevation = _expected_angles(frame, 3)
    assert result.azimuth_deg == pytest.approx(azimuth, abs=1e-3)
    assert result.elevation_deg == pytest.approx(elevation, abs=1e-3)
    assert 180 < result.azimuth_deg < 240  # seen from roughly behind the camera's heading (30° + 180°)
    assert result.elevation_deg > 0  # the table is below the camera's optical axis: seen from above
    assert result.rotation_deg == 0.0  # a level camera has no roll
    assert result.confidence == 1.0 and result.meta["instance_id"] == 3 and result.meta["label"] == "table"
    half = experts.orient(frame.image, [150, 90, 195, 180])  # the left half of the table
    assert half.confidence == pytest.approx(45 * 90 / (90 * 90 - 1), abs=1e-6)


def test_orientation_requests_are_batched_and_answered_each(experts, oracle_frames):
    from concurrent.futures import ThreadPoolExecutor

    jobs = [("a0", TABLE), ("a1", CHAIR_1), ("a0", [0, 0, 4, 4])] * 5

    def call(job):
        try:
            return experts.orient(oracle_frames[job[0]].image, job[1])
        except ExpertRequestError as error:
            return error

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(call, jobs))
    for (name, box), result in zip(jobs, results):
        if box == [0, 0, 4, 4]:  # background only
            assert isinstance(result, ExpertRequestError) and "no object inside BOX" in str(result)
        else:
            assert result.meta["instance_id"] == (3 if name == "a0" else 1)


def test_reconstruction_point_maps_are_back_projected_depth_in_view_0(experts, oracle_frames):
    a0, a1 = oracle_frames["a0"], oracle_frames["a1"]
    result = experts.reconstruct([a0.image, a1.image], points=True)
    assert result.points.dtype == np.float32 and result.points.shape == (2, 192, 256, 3)
    k = a0.truth.intrinsics
    row, col = 50, 70
    z = a0.truth.depth[row, col]
    np.testing.assert_allclose(result.points[0, row, col], [(col - k[0, 2]) * z / k[0, 0], (row - k[1, 2]) * z / k[1, 1], z], rtol=1e-6)
    # view 1's points, taken back into camera 1's frame, are camera 1's own back-projection
    pose1 = result.poses_c2w[1].astype(np.float64)
    local = (result.points[1].reshape(-1, 3) - pose1[:3, 3]) @ pose1[:3, :3]
    np.testing.assert_allclose(local[:, 2].reshape(192, 256), a1.truth.depth, rtol=1e-5)
    assert experts.reconstruct([a0.image]).points is None  # not asked for: not computed, not sent


def test_novel_view_at_zero_reproduces_the_first_view(experts, oracle_frames):
    image = oracle_frames["a0"].image
    result = experts.render_view([image], 0.0, 0.0)
    assert result.image.dtype == np.uint8 and result.image.shape == image.shape
    np.testing.assert_array_equal(result.image, image)
    np.testing.assert_allclose(result.pose_c2w, np.eye(4), atol=1e-6)


def test_novel_view_orbits_the_point_cloud(experts, oracle_frames):
    a0, a1 = oracle_frames["a0"], oracle_frames["a1"]
    cloud = experts.reconstruct([a0.image, a1.image], points=True).points.reshape(-1, 3)
    pivot = np.median(cloud.astype(np.float64), axis=0)
    result = experts.render_view([a0.image, a1.image], 30.0, 20.0)
    pose = result.pose_c2w.astype(np.float64)
    assert np.linalg.norm(pose[:3, 3] - pivot) == pytest.approx(np.linalg.norm(pivot), rel=1e-5)  # same distance
    pivot_seen = np.linalg.inv(pose) @ np.append(pivot, 1.0)
    np.testing.assert_allclose(pivot_seen[:3], pivot, atol=1e-4)  # a rigid turn about the pivot: it stays put in the image
    np.testing.assert_allclose(pose[:3, :3] @ pose[:3, :3].T, np.eye(3), atol=1e-5)
    assert pose[0, 3] > 0 and pose[1, 3] < 0  # moved right and up (y is down)
    assert 0 < (result.image.sum(axis=2) > 0).mean() < 1  # some pixels covered, some not
    with pytest.raises(ExpertInputError, match="elevation"):
        experts.render_view([a0.image], 0.0, 120.0)
