"""The `llm` policy against a real OpenAI-compatible HTTP server that follows a script.

The script makes one invalid call (it must come back as an error observation, not a crash),
then one real tool call, then answers from the tool's observation: a correct score proves the
tool really ran on Triton and the scripted answer went through lmms-eval's scoring.
"""

from __future__ import annotations

import json
import re

import pytest
import tritonclient.grpc as grpcclient

from skill3d_eval.trajectory_log import read_trajectories
from skill3d_eval.evaluate import run_lmms_eval
from tests.support.scripted_llm import ScriptedLLM, answer, tool_call

pytestmark = pytest.mark.integration

COUNT = re.compile(r"How many (.+?)\(s\)")
DISTANCE = re.compile(r".*between the (.+?) and the (.+?) \(in meters\)")


def question_of(messages):
    return messages[1]["content"][-1]["text"]


def script(messages):
    question = question_of(messages)
    observations = [json.loads(m["content"]) for m in messages if m["role"] == "tool"]
    if not observations:
        return tool_call("segment_objects", {"image": 99, "prompt": "chair"})
    if len(observations) == 1:
        if match := COUNT.search(question):
            return tool_call("locate_objects", {"category": match.group(1)})
        a, b = DISTANCE.search(question).groups()
        return tool_call("measure_distance", {"object_a": a, "object_b": b})
    last = observations[-1]
    return answer(f"{last['count']}" if "count" in last else f"It is about {last['closest_point_distance_m']} meters.")


def successful_inferences(url: str, model: str) -> int:
    with grpcclient.InferenceServerClient(url) as client:
        stats = client.get_inference_statistics(model, as_json=True)
    return sum(int(s.get("inference_stats", {}).get("success", {}).get("count", 0)) for s in stats["model_stats"])


def test_llm_policy_through_the_cli_with_a_scripted_endpoint(synth_triton, tmp_path):
    segmentations_before = successful_inferences(synth_triton.grpc_url, "segmentation")
    with ScriptedLLM(script) as llm:
        results_file = run_lmms_eval(
            ["spatial_synth"],
            {
                "policy": "llm",
                "base_url": llm.base_url,
                "api_key": "test-key",
                "model": "scripted",
                "triton_url": synth_triton.grpc_url,
                "output_dir": tmp_path / "runs",
                "run_name": "llm",
                "concurrency": 2,
            },
            tmp_path / "out",
            limit=4,
        )
        requests = list(llm.requests)

    results = json.loads(results_file.read_text())["results"]["spatial_synth"]
    assert results["spatial_synth_overall,none"] >= 0.95
    assert successful_inferences(synth_triton.grpc_url, "segmentation") > segmentations_before

    assert len(requests) == 4 * 3
    for request in requests:
        assert request["messages"][0]["role"] == "system"
        assert {t["function"]["name"] for t in request["tools"]} >= {"locate_objects", "measure_distance", "estimate_depth"}
    finals = [r for r in requests if sum(m["role"] == "tool" for m in r["messages"]) == 2]
    assert len(finals) == 4
    for request in finals:
        roles = [m["role"] for m in request["messages"]]
        assert roles == ["system", "user", "assistant", "tool", "assistant", "tool"]
        assert "out of range" in request["messages"][3]["content"]

    trajectories = read_trajectories(tmp_path / "runs" / "llm" / "trajectories.jsonl")
    assert len(trajectories) == 4
    for trajectory in trajectories:
        assert [len(turn.tool_calls) for turn in trajectory.turns] == [1, 1, 0]
        assert not trajectory.turns[0].observations[0].ok
        assert trajectory.turns[1].observations[0].ok
        assert trajectory.stop_reason == "answer" and trajectory.answer == trajectory.answer.strip()
        assert trajectory.turns[0].prompt_tokens == 100
