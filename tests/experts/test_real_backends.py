"""`real` backends of segmentation (SAM), super_resolution (Swin2SR), orientation (DINOv2 +
angle-bin head) and reconstruction (ONNX runner): tiny random models built from configs (or
exported to ONNX) in the test, exported into a copy of the repository, served by one Triton
server and called through the client and tritonclient (a text prompt to segmentation goes to
detection through BLS, then to SAM). Shapes, dtypes and the deterministic
parts (crop sizes, fitted intrinsics, poses relative to view 0) are checked; weights are random."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from skill3d_eval.experts import ExpertRequestError, ExpertsClient, TritonServer
from skill3d_eval.experts.export import export_model
from skill3d_eval.testing.tiny_experts import tiny_grounding_dino, tiny_onnx_reconstructor, tiny_orient_anything, tiny_sam, tiny_swin2sr
from skill3d_eval.settings import EXPERTS_VENV, MODEL_REPOSITORY

pytestmark = pytest.mark.integration

MODELS = ["detection", "segmentation", "super_resolution", "orientation", "reconstruction"]


@pytest.fixture(scope="module")
def real_experts(tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    repository = root / "repository"
    for name in MODELS:
        shutil.copytree(MODEL_REPOSITORY / name, repository / name, ignore=shutil.ignore_patterns("__pycache__"))
    export_model("detection", tiny_grounding_dino(root / "gdino", words=("chair", "table", "coffee")), repository)
    export_model("segmentation", tiny_sam(root / "sam"), repository)
    export_model("super_resolution", tiny_swin2sr(root / "swin2sr"), repository)
    export_model("orientation", tiny_orient_anything(root / "orient"), repository)
    exported = export_model("reconstruction", tiny_onnx_reconstructor(root / "recon"), repository, "onnx")
    assert exported.version == 2 and (exported.path / "checkpoint" / "model.onnx").is_file()
    with TritonServer(repository, EXPERTS_VENV, models=MODELS, log_file=root / "triton.log") as server:
        with ExpertsClient(server.grpc_url, timeout_s=60.0) as client:
            yield client


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(0).integers(0, 256, (48, 80, 3), dtype=np.uint8)


def test_grounding_dino_boxes_belong_to_prompts(real_experts):
    image = np.random.default_rng(1).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    result = real_experts.detect(image, ["chair", "coffee table"])
    assert result.boxes.dtype == np.float32 and result.boxes.shape == (len(result), 4)
    assert result.prompt_index.dtype == np.int32 and set(result.prompt_index.tolist()) <= {0, 1}
    assert result.labels == [["chair", "coffee table"][i] for i in result.prompt_index]
    assert (result.boxes[:, [0, 2]] <= 160).all() and (result.boxes[:, [1, 3]] <= 120).all() and (result.boxes >= 0).all()
    assert (np.diff(result.scores) <= 0).all() and (result.scores > 0.35).all()  # best first, above box_threshold
    assert result.meta["backend"] == "real" and result.meta["prompts"] == ["chair", "coffee table"]


def test_sam_segments_box_prompts(real_experts, image):
    result = real_experts.segment(image, boxes=[[5, 5, 40, 30], [40, 10, 80, 48]])
    assert result.masks.dtype == np.bool_ and result.masks.shape == (2, 48, 80)
    assert result.scores.dtype == np.float32 and result.scores.shape == (2,)
    assert result.boxes.shape == (2, 4) and result.meta["backend"] == "real" and result.meta["model_version"] == "2"


def test_sam_segments_text_prompts_through_detection(real_experts):
    """A text prompt is the `detection` model's boxes for it (BLS), each segmented by SAM."""
    image = np.random.default_rng(1).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    detected = real_experts.detect(image, ["chair"])
    result = real_experts.segment(image, "chair")
    assert result.masks.shape == (len(detected), 120, 160) and result.labels == ["chair"] * len(detected)
    np.testing.assert_allclose(result.scores, detected.scores)
    assert result.meta["detector"]["model"] == "detection" and result.meta["detector"]["model_version"] == "2"
    np.testing.assert_allclose(result.meta["detector"]["boxes"], detected.boxes, atol=1e-4)
    with pytest.raises(ExpertRequestError, match="PROMPT is empty"):
        real_experts.infer("segmentation", {"IMAGE": image, "PROMPT": np.array([b" "], dtype=np.object_)}, ["MASKS"])


def test_swin2sr_doubles_the_crop(real_experts, image):
    result = real_experts.super_resolve(image[:30, :41])  # not a multiple of the window: padded, then cropped back
    assert result.image.dtype == np.uint8 and result.image.shape == (60, 82, 3) and result.scale == 2
    assert result.meta["backend"] == "real"


def test_orient_anything_angles_lie_in_their_bins(real_experts, image):
    result = real_experts.orient(image, [10, 5, 50, 40])
    assert 0 <= result.azimuth_deg < 360 and -90 <= result.elevation_deg < 90 and -180 <= result.rotation_deg < 180
    assert result.azimuth_deg == int(result.azimuth_deg) and 0 <= result.confidence <= 1
    assert result.meta["backend"] == "real"


def test_onnx_reconstruction_poses_points_and_fitted_intrinsics(real_experts, image):
    views = [image, np.ascontiguousarray(image[:, ::-1]), np.ascontiguousarray(image[::-1])]
    result = real_experts.reconstruct(views, points=True)
    assert result.poses_c2w.dtype == np.float32 and result.poses_c2w.shape == (3, 4, 4)
    np.testing.assert_allclose(result.poses_c2w[0], np.eye(4), atol=1e-5)
    # the tiny exporter's pinhole: fx = fy = W, centre ((W-1)/2, (H-1)/2), recovered from the points
    np.testing.assert_allclose(result.intrinsics, np.broadcast_to([[80, 0, 39.5], [0, 80, 23.5], [0, 0, 1]], (3, 3, 3)), rtol=1e-3, atol=1e-3)
    assert result.points.shape == (3, 48, 80, 3) and np.isfinite(result.points).all()
    assert (result.points[0, ..., 2] > 0).all()  # in front of view 0
    rendered = real_experts.render_view(views[:1], 0.0, 0.0)
    np.testing.assert_array_equal(rendered.image, image)  # one view at (0, 0) is that view


def test_prompt_spans_map_caption_tokens_to_prompts():
    from skill3d_experts.detection import prompt_spans

    # [CLS] chair . coffee table . [SEP]  with "." = 7
    assert prompt_spans([101, 5, 7, 6, 8, 7, 102], 7, 2) == [-1, 0, -1, 1, 1, -1, -1]
    assert prompt_spans([101, 5, 7, 102], 7, 1) == [-1, 0, -1, -1]
