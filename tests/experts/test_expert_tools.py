"""The agent's tools for the new experts: schemas the model sees, structured observations, errors."""

from __future__ import annotations

import pytest

from skill3d_eval.records import Sample
from skill3d_eval.tools import ToolContext, default_toolset

pytestmark = pytest.mark.integration  # starts a real Triton server


@pytest.fixture()
def context(experts, oracle_frames):
    sample = Sample(task="t", doc_id=0, sample_id="s0", question="?", frames=[oracle_frames["a0"].image, oracle_frames["a1"].image])
    return ToolContext(sample, experts)


def test_schemas_state_argument_semantics():
    schemas = {s["function"]["name"]: s["function"] for s in default_toolset().openai_schemas()}
    for name in ("detect_objects", "estimate_orientation", "super_resolve"):
        assert schemas[name]["parameters"]["additionalProperties"] is False
    box = schemas["estimate_orientation"]["parameters"]["properties"]["box"]
    assert box["minItems"] == box["maxItems"] == 4 and "x2, y2 exclusive" in box["description"]
    assert schemas["detect_objects"]["parameters"]["required"] == ["image", "categories"]


def test_detect_objects_groups_boxes_by_category(context):
    observation = default_toolset().call(context, "detect_objects", {"image": 1, "categories": ["chair", "sofa"]}, "c1")
    assert observation.ok, observation.error
    assert observation.content == {
        "image": 1,
        "detections": [
            {"category": "chair", "count": 2, "boxes": [{"box_xyxy": [30.0, 21.0, 90.0, 60.0], "score": 1.0}, {"box_xyxy": [15.0, 100.0, 45.0, 150.0], "score": 1.0}]},
            {"category": "sofa", "count": 0, "boxes": []},
        ],
    }


def test_estimate_orientation_and_its_errors(context):
    tools = default_toolset()
    observation = tools.call(context, "estimate_orientation", {"image": 0, "box": [150, 90, 240, 180]}, "c2")
    assert observation.ok and observation.content["confidence"] == 1.0
    assert 180 < observation.content["azimuth_deg"] < 240 and observation.content["rotation_deg"] == 0.0
    background = tools.call(context, "estimate_orientation", {"image": 0, "box": [0, 0, 4, 4]}, "c3")
    assert not background.ok and "no object inside BOX" in background.error
    malformed = tools.call(context, "estimate_orientation", {"image": 0, "box": [1, 2, 3]}, "c4")
    assert not malformed.ok and "too short" in malformed.error


def test_super_resolve_reports_the_enlarged_crop(context, oracle_frames):
    observation = default_toolset().call(context, "super_resolve", {"image": 0, "box": [10, 20, 30, 30]}, "c5")
    assert observation.ok
    crop = oracle_frames["a0"].image[20:30, 10:30]
    assert observation.content["size_px"] == [40, 20] and observation.content["scale"] == 2
    assert observation.content["mean_rgb"] == [round(float(v), 1) for v in crop.reshape(-1, 3).mean(axis=0)]
    outside = default_toolset().call(context, "super_resolve", {"image": 0, "box": [250, 0, 300, 10]}, "c6")
    assert not outside.ok and "outside image 0" in outside.error
