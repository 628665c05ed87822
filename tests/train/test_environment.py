"""The GRPO tool environment runs our tools on the real Triton experts, as TRL will call them."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from skill3d_eval.experts import ExpertsClient
from skill3d_eval.tools import default_toolset
from skill3d_eval.sft_export import export_trajectories
from train.environment import environment_factory, rendered_schemas


@pytest.fixture(scope="module")
def exported(program_run, synth_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("env_export")
    export_trajectories([program_run], synth_root, out, validation_fraction=0.0)
    return out, [json.loads(line) for line in (out / "trl" / "train.jsonl").read_text().splitlines()]


def test_tool_calls_execute_on_triton_with_the_examples_frames(exported, synth_triton):
    out, records = exported
    record = next(r for r in records if r["question_type"] == "object_counting")
    category = record["messages"][2]["tool_calls"][0]["function"]
    with ExpertsClient(synth_triton.grpc_url) as experts:
        factory = environment_factory(experts, default_toolset())
        environment, other = factory(), factory()
        environment.reset(**{**record, "images": [Image.open(out / path) for path in record["images"]]})
        other.reset(images=[], sample_id="empty")

        observation = json.loads(environment.locate_objects(**json.loads(category["arguments"])))
        assert observation["count"] == int(record["ground_truth"])
        assert json.loads(environment.segment_objects(image=99, prompt="chair"))["error"].startswith("image index 99 is out of range")
        assert "error" in json.loads(environment.locate_objects(category=""))
        assert [o.ok for o in environment.observations] == [True, False, False] and other.observations == []
        assert "error" in json.loads(other.estimate_depth(image=0)), "each rollout sees only its own frames"


def test_the_policy_is_shown_every_tool_with_its_arguments():
    tools = default_toolset()
    schemas = rendered_schemas(environment_factory(None, tools))
    assert set(schemas) == set(tools.tools)
    for name, tool in tools.tools.items():
        declared = tool.parameters_schema
        shown = schemas[name]["function"]["parameters"]
        assert set(shown["properties"]) == set(declared["properties"]), name
        assert set(shown.get("required", [])) == set(declared.get("required", [])), name
