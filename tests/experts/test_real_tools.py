"""Every agent tool on `real` backends: tiny random checkpoints of all six experts exported into a
copy of the repository, served by one Triton server, and every tool of `default_toolset()` called
through `ToolSet.call` and the real client on a spatial_synth question (`tool_probe`). Also the
request shapes the tools can send (32 views, 8 categories, few-pixel crops, boxes at the border)
and the text-prompt chain segmentation → detection (BLS) → SAM, including its missing detector."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from skill3d_experts.segmentation import DetectedBoxes, RealSegmentation

from skill3d_eval.experts import ExpertRequestError, ExpertsClient, TritonServer
from skill3d_eval.experts.export import export_model
from skill3d_eval.settings import EXPERTS_VENV, MODEL_REPOSITORY
from skill3d_eval.skills.rollouts import synth_samples
from skill3d_eval.synth.catalogue import CATEGORIES
from skill3d_eval.testing.tiny_experts import (
    tiny_depth_anything, tiny_grounding_dino, tiny_onnx_reconstructor, tiny_orient_anything, tiny_sam, tiny_swin2sr,
)
from skill3d_eval.testing.tool_probe import TINY_DETECTION_PARAMETERS, ok_fraction, probe_tools
from skill3d_eval.tools import default_toolset

MODELS = ["depth", "detection", "segmentation", "reconstruction", "super_resolution", "orientation"]


@pytest.fixture(scope="module")
def tiny_repository(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("real_tools")
    repository = root / "repository"
    shutil.copytree(MODEL_REPOSITORY, repository, ignore=shutil.ignore_patterns("__pycache__"))
    export_model("depth", tiny_depth_anything(root / "depth"), repository)
    export_model("detection", tiny_grounding_dino(root / "detection"), repository, parameters=TINY_DETECTION_PARAMETERS)
    export_model("segmentation", tiny_sam(root / "segmentation"), repository)
    export_model("reconstruction", tiny_onnx_reconstructor(root / "reconstruction"), repository, "onnx")
    export_model("super_resolution", tiny_swin2sr(root / "super_resolution"), repository)
    export_model("orientation", tiny_orient_anything(root / "orientation"), repository)
    return repository


@pytest.fixture(scope="module")
def real_tools_server(tiny_repository):
    with TritonServer(tiny_repository, EXPERTS_VENV, models=MODELS, log_file=tiny_repository.parent / "triton.log") as server:
        yield server


@pytest.fixture(scope="module")
def client(real_tools_server):
    with ExpertsClient(real_tools_server.grpc_url, timeout_s=120.0) as experts:
        yield experts


@pytest.fixture(scope="module")
def sample(synth_root):
    _, samples = synth_samples(synth_root, "test")
    return samples[min(samples)]


@pytest.mark.integration
def test_every_tool_works_on_real_backends(client, sample):
    toolset = default_toolset(views=True)  # the largest toolset an agent sees
    results = probe_tools(client, sample, toolset=toolset)
    assert {result.tool for result in results} == set(toolset.tools) > set(default_toolset().tools)
    assert [(r.tool, r.case, r.failure, r.error) for r in results if not r.ok] == []
    assert ok_fraction(results) == 1.0
    assert all(meta["backend"] == "real" for meta in (client.depth(sample.frames[0]).meta, client.segment(sample.frames[0], "chair").meta))


@pytest.mark.integration
def test_text_prompt_is_detection_then_sam(client, sample):
    frame = sample.frames[0]
    detected = client.detect(frame, ["chair"])
    result = client.segment(frame, "chair")
    assert len(detected) > 0  # box_threshold 0: the random detector boxes something
    assert result.masks.shape == (len(detected), *frame.shape[:2]) and result.masks.dtype == np.bool_
    np.testing.assert_allclose(result.scores, detected.scores)  # the detector's confidence, best first
    assert result.labels == ["chair"] * len(detected)
    detector = result.meta["detector"]
    assert detector["model"] == "detection" and detector["model_version"] == "2" and detector["dropped"] == 0
    np.testing.assert_allclose(detector["boxes"], detected.boxes, atol=1e-4)
    assert len(result.meta["mask_scores"]) == len(detected)
    nothing = client.segment(np.zeros((1, 1, 3), np.uint8) + 7, "chair")  # any size: the detector resizes
    assert nothing.masks.shape[1:] == (1, 1) and nothing.boxes.shape == (len(nothing), 4)


@pytest.mark.integration
def test_request_shapes_the_tools_send(client, sample):
    frame = sample.frames[0]
    height, width = frame.shape[:2]
    views = [sample.frames[i % len(sample.frames)] for i in range(32)]  # a 32-image question
    reconstruction = client.reconstruct(views)
    assert reconstruction.poses_c2w.shape == (32, 4, 4) and np.isfinite(reconstruction.intrinsics).all()
    categories = [c.name for c in CATEGORIES[:8]]
    detected = client.detect(frame, categories)
    assert set(detected.labels) <= set(categories) and len(detected) > 0
    long_names = [f"{c.name} with a very long description of its colour, shape and position in the room" for c in CATEGORIES[:8]]
    assert client.detect(frame, long_names).boxes.shape[1] == 4  # 8 prompts of up to 80 characters
    assert client.super_resolve(frame[10:13, 20:25]).image.shape == (6, 10, 3)
    assert client.super_resolve(frame[:1, :1]).image.shape == (2, 2, 3)
    for box in ([width - 3, height - 2, width, height], [0, 0, 1, 1], [0.5, 0.5, width - 0.5, height - 0.5]):
        assert 0 <= client.orient(frame, box).confidence <= 1
    assert client.segment(frame, boxes=[[width - 1, height - 1, width, height]]).masks.shape == (1, height, width)


@pytest.mark.integration
def test_text_prompts_without_the_detector_name_it(tiny_repository, tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (48, 80, 3), dtype=np.uint8)
    with TritonServer(tiny_repository, EXPERTS_VENV, models=["segmentation"], log_file=tmp_path / "triton.log") as server:
        with ExpertsClient(server.grpc_url, timeout_s=60.0) as experts:
            with pytest.raises(ExpertRequestError, match="detector model 'detection' .*text_detector"):
                experts.segment(image, "chair")
            assert experts.segment(image, boxes=[[5, 5, 40, 30]]).masks.shape == (1, 48, 80)  # box prompts need no detector


def test_text_segmentation_segments_the_detector_boxes_it_can_use(tmp_path):
    """The chain without Triton: an injected detector; boxes clipped to the image, unusable ones dropped."""
    answers = {
        "chair": DetectedBoxes(
            boxes=np.array([[4, 4, 30, 20], [70, 40, 95, 60], [80, 0, 90, 10], [np.nan, 0, 5, 5]], np.float32),
            scores=np.array([0.9, 0.8, 0.7, 0.6], np.float32), model="detector", model_version="3",
        ),
        "sofa": DetectedBoxes(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), "detector", "3"),
    }
    asked = []

    def detector(image, prompt):
        asked.append((image.shape, prompt))
        return answers[prompt]

    segmentation = RealSegmentation(tiny_sam(tmp_path / "sam"), detector)
    image = np.random.default_rng(0).integers(0, 256, (48, 80, 3), dtype=np.uint8)
    chairs = segmentation.predict(image, "chair")
    assert asked == [((48, 80, 3), "chair")]
    assert chairs.masks.shape == (2, 48, 80) and chairs.labels == ["chair", "chair"]
    np.testing.assert_allclose(chairs.scores, [0.9, 0.8])
    assert chairs.meta["detector"] == {"model": "detector", "model_version": "3", "boxes": [[4, 4, 30, 20], [70, 40, 80, 48]], "scores": chairs.meta["detector"]["scores"], "dropped": 2}
    sofas = segmentation.predict(image, "sofa")
    assert sofas.masks.shape == (0, 48, 80) and sofas.boxes.shape == (0, 4) and sofas.scores.shape == (0,) and sofas.labels == []
