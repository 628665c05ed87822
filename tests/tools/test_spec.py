import json

import numpy as np
import pytest

from skill3d_eval.experts import ExpertUnavailable
from skill3d_eval.records import Sample
from skill3d_eval.tools import ToolArgumentError, ToolContext, default_toolset


def make_context(frames=2):
    sample = Sample(task="t", doc_id=0, sample_id="t/test/0", question="q", frames=[np.zeros((4, 4, 3), np.uint8)] * frames)
    return ToolContext(sample, experts=None)


def test_openai_schemas_are_derived_from_the_declarations():
    schemas = {s["function"]["name"]: s for s in default_toolset().openai_schemas()}
    assert {"estimate_depth", "segment_objects", "reconstruct_cameras", "locate_objects", "measure_distance"} <= set(schemas)
    depth = schemas["estimate_depth"]["function"]["parameters"]
    assert depth["required"] == ["image"]
    assert depth["properties"]["image"]["minimum"] == 0
    assert depth["additionalProperties"] is False
    json.dumps(schemas)


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ('{"image": "zero"}', "image"),
        ('{"image": -1}', "minimum"),
        ('{"image": 0, "extra": 1}', "Additional properties"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ("{}", "'image' is a required property"),
    ],
)
def test_invalid_arguments_are_rejected_with_a_clear_message(arguments, fragment):
    tool = default_toolset().tools["estimate_depth"]
    with pytest.raises(ToolArgumentError, match="estimate_depth") as info:
        tool.parse(arguments)
    assert fragment in str(info.value)


def test_calls_never_raise_they_become_error_observations():
    tools = default_toolset()
    context = make_context()
    unknown = tools.call(context, "teleport", "{}", "c1")
    assert not unknown.ok and "unknown tool 'teleport'" in unknown.error and "estimate_depth" in unknown.error
    invalid = tools.call(context, "segment_objects", {"image": 0}, "c2")
    assert not invalid.ok and "prompt" in invalid.error
    out_of_range = tools.call(context, "segment_objects", {"image": 5, "prompt": "chair"}, "c3")
    assert not out_of_range.ok and "images 0..1" in out_of_range.error
    assert (unknown.failure, invalid.failure, out_of_range.failure) == ("unknown_tool", "invalid_arguments", "tool_error")


def test_an_expert_failure_is_typed_as_such():
    class DownExperts:
        def depth(self, image):
            raise ExpertUnavailable("depth: connection refused")

    sample = Sample(task="t", doc_id=0, sample_id="t/test/0", question="q", frames=[np.zeros((4, 4, 3), np.uint8)])
    observation = default_toolset().call(ToolContext(sample, DownExperts()), "estimate_depth", {"image": 0}, "c1")
    assert not observation.ok and observation.failure == "expert_error" and "connection refused" in observation.error
