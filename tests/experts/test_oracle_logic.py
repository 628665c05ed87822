"""skill3d_experts logic without Triton: category matching, boxes, relative poses, the oracles."""

from __future__ import annotations

import numpy as np
import pytest
from skill3d_experts._triton import InvalidInput, model_parameters, select_backend
from skill3d_experts.depth import OracleDepth
from skill3d_experts.oracle import OracleTruths, oracle_root_param
from skill3d_experts.oracle_store import OracleMiss, OracleStore, frame_key
from skill3d_experts.reconstruction import OracleReconstruction, relative_poses
from skill3d_experts.segmentation import OracleSegmentation, boxes_from_masks, matches_category, normalize_category


@pytest.mark.parametrize(
    ("prompt", "category", "expected"),
    [
        ("chair", "chair", True),
        ("Chairs", "chair", True),
        ("chair(s)", "Chair", True),
        ("chair.", "chair", True),
        ("boxes", "box", True),
        ("box(es)", "box", True),
        ("shelves", "shelf", False),  # irregular plurals are out of scope
        ("glasses", "glass", True),
        ("bookcases", "bookcase", True),
        ("dining_table", "dining table", True),
        ("couches", "couch", True),
        ("libraries", "library", True),
        ("chair", "table", False),
        ("arm chair", "chair", False),
    ],
)
def test_matches_category(prompt, category, expected):
    assert matches_category(prompt, category) is expected


def test_normalize_category_keeps_short_and_ss_words():
    assert normalize_category("glass") == "glass"
    assert normalize_category("tv") == "tv"
    assert normalize_category("  Coffee   Tables ") == "coffee table"


def test_boxes_from_masks_are_tight_and_exclusive_at_the_far_end():
    masks = np.zeros((3, 6, 8), dtype=bool)
    masks[0, 2, 3] = True  # one pixel at (u=3, v=2)
    masks[1, 1:4, 2:7] = True
    boxes = boxes_from_masks(masks)
    assert boxes.dtype == np.float32
    np.testing.assert_array_equal(boxes, [[3, 2, 4, 3], [2, 1, 7, 4], [0, 0, 0, 0]])
    assert boxes_from_masks(np.zeros((0, 6, 8), dtype=bool)).shape == (0, 4)


def test_relative_poses_start_at_identity_and_compose_back():
    rng = np.random.default_rng(3)
    poses = []
    for _ in range(3):
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        pose = np.eye(4)
        pose[:3, :3] = q * np.sign(np.linalg.det(q))
        pose[:3, 3] = rng.normal(size=3)
        poses.append(pose)
    poses = np.stack(poses)
    relative = relative_poses(poses)
    assert relative.dtype == np.float32
    np.testing.assert_allclose(relative[0], np.eye(4), atol=1e-6)
    np.testing.assert_allclose(poses[0] @ relative, poses, atol=1e-5)
    # invariant to where the world origin is
    shift = np.eye(4)
    shift[:3, 3] = (5.0, -2.0, 0.5)
    np.testing.assert_allclose(relative_poses(shift @ poses), relative, atol=1e-5)


def test_oracle_backends_answer_from_the_store(oracle_frames):
    store = OracleStore(oracle_frames.root)
    frame = oracle_frames["a0"]
    depth = OracleDepth(store).predict(frame.image)
    np.testing.assert_array_equal(depth.depth, frame.truth.depth)
    assert depth.meta["frame_key"] == frame_key(frame.image)
    segmentation = OracleSegmentation(store).predict(frame.image, "tables")
    assert segmentation.labels == ["table"] and segmentation.meta["instance_ids"] == [3]
    reconstruction = OracleReconstruction(store).predict(np.stack([oracle_frames["a1"].image, frame.image]))
    np.testing.assert_allclose(
        reconstruction.poses_c2w[1] @ np.linalg.inv(reconstruction.poses_c2w[1]), np.eye(4), atol=1e-5
    )
    np.testing.assert_allclose(reconstruction.poses_c2w[0], np.eye(4), atol=1e-6)


def test_oracle_errors(oracle_frames):
    store = OracleStore(oracle_frames.root)
    unknown = np.ones((5, 5, 3), dtype=np.uint8)
    with pytest.raises(OracleMiss, match=frame_key(unknown)):
        OracleDepth(store).predict(unknown)
    with pytest.raises(InvalidInput, match="uint8"):
        OracleDepth(store).predict(np.zeros((5, 5), dtype=np.uint8))
    with pytest.raises(InvalidInput, match="PROMPT is empty"):
        OracleSegmentation(store).predict(oracle_frames["a0"].image, " ")
    with pytest.raises(InvalidInput, match="one scene"):
        OracleReconstruction(store).predict(np.stack([oracle_frames["a0"].image, oracle_frames["b0"].image]))
    with pytest.raises(InvalidInput, match="N >= 1"):
        OracleReconstruction(store).predict(np.zeros((0, 4, 4, 3), dtype=np.uint8))


def test_truth_cache_evicts_the_oldest_and_serves_read_only_arrays(oracle_frames):
    truths = OracleTruths(OracleStore(oracle_frames.root), capacity=2)
    for name in ("a0", "a1", "b0", "b0"):
        key, truth = truths.get(oracle_frames[name].image)
        assert key == frame_key(oracle_frames[name].image)
        assert truth.scene == oracle_frames[name].truth.scene
    assert list(truths._cache) == [frame_key(oracle_frames["a1"].image), frame_key(oracle_frames["b0"].image)]
    assert not truth.depth.flags.writeable


def test_backend_selection_and_parameters(oracle_frames, tmp_path):
    params = model_parameters(
        {
            "parameters": {
                "backend": {"string_value": "oracle"},
                "oracle_root": {"string_value": str(oracle_frames.root)},
            }
        }
    )
    assert params == {"backend": "oracle", "oracle_root": str(oracle_frames.root)}
    assert isinstance(select_backend("depth", {"oracle": OracleDepth.from_params}, params), OracleDepth)
    with pytest.raises(ValueError, match=r"depth: unknown backend 'real' .*known: oracle"):
        select_backend("depth", {"oracle": OracleDepth.from_params}, {**params, "backend": "real"})
    with pytest.raises(ValueError, match="needs the config parameter 'oracle_root'"):
        oracle_root_param("depth", {"backend": "oracle", "oracle_root": ""})
    with pytest.raises(ValueError, match="is not a directory"):
        oracle_root_param("depth", {"oracle_root": str(tmp_path / "nothing")})
    assert model_parameters({}) == {}
