"""Every expert through `ExpertsClient` against a real Triton server: shapes, dtypes, exact oracle values."""

from __future__ import annotations

import numpy as np
import pytest
from skill3d_experts.oracle_store import frame_key

from skill3d_eval.experts import (
    ExpertInputError,
    ExpertRequestError,
    ExpertsClient,
    ExpertUnavailable,
)

pytestmark = pytest.mark.integration  # starts a real Triton server


def test_server_ready_and_all_models_loaded(experts, triton_server):
    assert experts.ready()
    assert triton_server.models == ["depth", "detection", "orientation", "reconstruction", "segmentation", "super_resolution"]


@pytest.mark.parametrize("name", ["a0", "b0"])
def test_depth_is_the_stored_depth(experts, oracle_frames, name):
    frame = oracle_frames[name]
    result = experts.depth(frame.image)
    assert result.depth.dtype == np.float32 and result.depth.shape == frame.image.shape[:2]
    np.testing.assert_array_equal(result.depth, frame.truth.depth)
    assert result.intrinsics.dtype == np.float32 and result.intrinsics.shape == (3, 3)
    np.testing.assert_array_equal(result.intrinsics, frame.truth.intrinsics)
    assert result.meta["frame_key"] == frame_key(frame.image)
    assert result.meta["backend"] == "oracle" and result.meta["model"] == "depth"
    assert result.meta["model_version"] == "1"
    assert (result.meta["scene"], result.meta["frame_index"]) == (frame.truth.scene, frame.truth.frame_index)


def test_unknown_frame_is_a_request_error_naming_the_key(experts):
    image = np.full((64, 48, 3), 7, dtype=np.uint8)
    with pytest.raises(ExpertRequestError) as raised:
        experts.depth(image)
    assert frame_key(image) in str(raised.value)
    assert raised.value.model == "depth"
    with pytest.raises(ExpertRequestError, match=frame_key(image)):
        experts.segment(image, "chair")


def test_a_failed_request_does_not_break_the_model(experts, oracle_frames):
    with pytest.raises(ExpertRequestError):
        experts.depth(np.zeros((8, 8, 3), dtype=np.uint8))
    assert experts.depth(oracle_frames["a1"].image).meta["frame_index"] == 1


@pytest.mark.parametrize("prompt", ["chair", "Chairs", "chair(s)", " CHAIR "])
def test_segmentation_masks_are_the_instances_of_the_category(experts, oracle_frames, prompt):
    frame = oracle_frames["a1"]
    result = experts.segment(frame.image, prompt)
    h, w = frame.image.shape[:2]
    assert result.masks.dtype == np.bool_ and result.masks.shape == (2, h, w)
    assert result.boxes.dtype == np.float32 and result.boxes.shape == (2, 4)
    assert result.scores.dtype == np.float32 and result.scores.shape == (2,)
    assert result.labels == ["chair", "chair"] and len(result) == 2
    assert result.meta["instance_ids"] == [1, 2]
    for mask, instance_id in zip(result.masks, [1, 2]):
        np.testing.assert_array_equal(mask, frame.truth.instances == instance_id)
    # a1 was made with seed 1: chair 1 rows 21..59, cols 30..89; chair 2 rows 100..149, cols 15..44
    np.testing.assert_array_equal(result.boxes, [[30, 21, 90, 60], [15, 100, 45, 150]])


def test_segmentation_box_is_tight_over_a_mask_with_a_hole(experts, oracle_frames):
    frame = oracle_frames["b0"]
    result = experts.segment(frame.image, "table")
    assert result.labels == ["table"]
    np.testing.assert_array_equal(result.masks[0], frame.truth.instances == 3)
    assert not result.masks[0][175, 200]
    np.testing.assert_array_equal(result.boxes, [[150, 90, 240, 180]])


@pytest.mark.parametrize("prompt", ["sofa", "lamp"])  # lamp: a known label that no pixel shows
def test_segmentation_of_an_absent_category_is_empty(experts, oracle_frames, prompt):
    frame = oracle_frames["a0"]
    result = experts.segment(frame.image, prompt)
    assert result.masks.shape == (0, *frame.image.shape[:2]) and result.masks.dtype == np.bool_
    assert result.boxes.shape == (0, 4) and result.scores.shape == (0,)
    assert result.labels == [] and len(result) == 0


def test_reconstruction_poses_are_relative_to_the_first_view(experts, oracle_frames):
    a0, a1 = oracle_frames["a0"], oracle_frames["a1"]
    result = experts.reconstruct([a0.image, a1.image])
    assert result.poses_c2w.dtype == np.float32 and result.poses_c2w.shape == (2, 4, 4)
    assert result.intrinsics.dtype == np.float32 and result.intrinsics.shape == (2, 3, 3)
    np.testing.assert_allclose(result.poses_c2w[0], np.eye(4), atol=1e-6)
    expected = np.linalg.inv(a0.truth.pose_c2w.astype(np.float64)) @ a1.truth.pose_c2w
    np.testing.assert_allclose(result.poses_c2w[1], expected, atol=1e-5)
    # yaw 30° → 75°: view 1 is turned 45° about camera 0's y axis (world up is -y), and sits 0.95 m away
    rotation, translation = result.poses_c2w[1][:3, :3], result.poses_c2w[1][:3, 3]
    np.testing.assert_allclose(rotation[:, 1], [0, 1, 0], atol=1e-6)
    np.testing.assert_allclose(np.trace(rotation), 1 + 2 * np.cos(np.deg2rad(45)), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(translation), np.linalg.norm([0.8, 0.5, 0.1]), atol=1e-6)
    np.testing.assert_array_equal(result.intrinsics, np.stack([a0.truth.intrinsics, a1.truth.intrinsics]))
    assert result.meta["scene"] == "scene_a"
    assert result.meta["frame_keys"] == [frame_key(a0.image), frame_key(a1.image)]


def test_reconstruction_of_one_view_is_the_identity(experts, oracle_frames):
    result = experts.reconstruct([oracle_frames["b0"].image])
    np.testing.assert_allclose(result.poses_c2w, np.eye(4)[None], atol=1e-6)


def test_reconstruction_across_two_scenes_is_rejected(experts, oracle_frames):
    with pytest.raises(ExpertRequestError, match="scene_a.*scene_b") as raised:
        experts.reconstruct([oracle_frames["a0"].image, oracle_frames["b0"].image])
    assert raised.value.model == "reconstruction"


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((4, 4, 3), dtype=np.float32),
        np.zeros((4, 4), dtype=np.uint8),
        np.zeros((4, 4, 4), dtype=np.uint8),
        np.zeros((0, 4, 3), dtype=np.uint8),
        [[0, 0, 0]],
    ],
    ids=["float32", "gray", "rgba", "empty", "list"],
)
def test_inputs_are_validated_client_side(experts, image):
    with pytest.raises(ExpertInputError, match=r"uint8|numpy array"):
        experts.depth(image)
    with pytest.raises(ValueError):  # ExpertInputError is also a ValueError
        experts.segment(image, "chair")


def test_other_client_side_checks(experts, oracle_frames):
    with pytest.raises(ExpertInputError, match="prompt"):
        experts.segment(oracle_frames["a0"].image, "  ")
    with pytest.raises(ExpertInputError, match="at least one"):
        experts.reconstruct([])
    with pytest.raises(ExpertInputError, match="one size"):
        experts.reconstruct([oracle_frames["a0"].image, oracle_frames["a0"].image[:10]])


def test_non_contiguous_views_are_sent_as_their_pixels(experts, oracle_frames):
    image = oracle_frames["a0"].image
    flipped_twice = image[::-1][::-1]  # a view with negative strides, same pixels
    assert experts.depth(flipped_twice).meta["frame_key"] == frame_key(image)


def test_unreachable_server_is_unavailable():
    from skill3d_eval.experts.server import free_port

    with ExpertsClient(f"127.0.0.1:{free_port()}", timeout_s=2.0) as client:
        assert not client.ready()
        with pytest.raises(ExpertUnavailable) as raised:
            client.depth(np.zeros((4, 4, 3), dtype=np.uint8))
    assert raised.value.model == "depth"


def test_concurrent_requests_each_get_their_own_answer(experts, oracle_frames):
    """Dynamic batching hands the model several requests at once, one of them failing."""
    from concurrent.futures import ThreadPoolExecutor

    names = ["a0", "a1", "b0", "unknown"] * 6
    unknown = np.full((192, 256, 3), 3, dtype=np.uint8)

    def call(name):
        image = unknown if name == "unknown" else oracle_frames[name].image
        try:
            return experts.depth(image)
        except ExpertRequestError as error:
            return error

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(call, names))
    for name, result in zip(names, results):
        if name == "unknown":
            assert isinstance(result, ExpertRequestError) and frame_key(unknown) in str(result)
        else:
            np.testing.assert_array_equal(result.depth, oracle_frames[name].truth.depth)
