"""Fault injection through real servers: an HTTP endpoint scripted to misbehave, real Triton.

One run answers one sample per fault kind at once. Whatever fails, the run completes and
every sample ends with exactly one recorded trajectory: an answer, or the reason it has none.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import openai
import pytest

from skill3d_eval.llm import OpenAIEndpoint
from skill3d_eval.agent.loop import LLMPolicy
from skill3d_eval.records import Sample, SampleError, SampleIdentity, Trajectory
from skill3d_eval.agent.runner import Runner
from skill3d_eval.trajectory_log import TrajectoryLog, read_trajectories
from skill3d_eval.experts import ExpertsClient
from skill3d_eval.tools import default_toolset
from skill3d_eval.lmms.sample import DEFAULT_NUM_FRAMES
from skill3d_eval.media.video import sample_frames
from tests.support.scripted_llm import RESET, ScriptedLLM, answer, delayed, http_error, raw_body, tool_call

pytestmark = pytest.mark.integration

Script = Callable[[int], dict]


@dataclass(frozen=True)
class Fault:
    script: Script  # attempt number for this sample -> reply
    expect: Callable[[Trajectory], None]
    frames: str = "synth"  # "synth": real frames the oracle knows; "noise": frames it does not


def answered(value: str) -> Callable[[Trajectory], None]:
    def check(t: Trajectory) -> None:
        assert t.stop_reason == "answer" and t.error is None and t.answer == value, t
    return check


def failed(fragment: str) -> Callable[[Trajectory], None]:
    def check(t: Trajectory) -> None:
        assert t.stop_reason == "error" and t.answer == "" and fragment in t.error, t
    return check


def first_observation_error(fragment: str, then: str = "3") -> Callable[[Trajectory], None]:
    def check(t: Trajectory) -> None:
        answered(then)(t)
        observation = t.turns[0].observations[0]
        assert not observation.ok and fragment in observation.error, observation
    return check


def then_answer(first: dict, value: str = "3") -> Script:
    return lambda attempt: first if attempt == 0 else answer(value)


def always(reply: dict) -> Script:
    return lambda attempt: reply


def repeated_call(attempt: int) -> dict:
    return tool_call("estimate_depth", {"image": 0}) if attempt < 2 else answer("3")


def check_repeated(t: Trajectory) -> None:
    answered("3")(t)
    assert t.turns[0].observations[0].ok and "repeated call" in t.turns[1].observations[0].error


def check_tagged(t: Trajectory) -> None:
    answered("3")(t)
    (observation,) = t.turns[0].observations
    assert observation.ok and observation.content["depth_m"]["median"] > 0


def check_endless(t: Trajectory) -> None:
    assert t.stop_reason == "max_turns" and t.answer == "" and len(t.turns) == 4


def check_empty_reply(t: Trajectory) -> None:
    answered("4")(t)
    assert len(t.turns) == 2 and t.turns[0].assistant_text in ("", None)


def check_missing_usage(t: Trajectory) -> None:
    answered("3")(t)
    assert t.turns[0].prompt_tokens == 0


LLM_FAULTS: dict[str, Fault] = {
    "rate_limited_then_ok": Fault(then_answer(http_error(429, {"Retry-After": "1"})), answered("3")),
    "server_error_then_ok": Fault(then_answer(http_error(500)), answered("3")),
    "bad_gateway_then_ok": Fault(then_answer(http_error(502)), answered("3")),
    "unavailable_always": Fault(always(http_error(503)), failed("503")),
    "bad_request": Fault(always(http_error(400)), failed("400")),
    "timeout_then_ok": Fault(then_answer(delayed(answer("9"), 3.0)), answered("3")),
    "connection_reset_then_ok": Fault(then_answer(RESET), answered("3")),
    "truncated_json": Fault(always(raw_body(b'{"id": "x", "choices": [{"index": 0, "mess')), failed("unreadable body")),
    "not_json": Fault(always(raw_body(b"<html>upstream error</html>")), failed("unreadable body")),
    "no_choices": Fault(always({"choices": []}), failed("without choices")),
    "unknown_tool": Fault(then_answer(tool_call("teleport", {})), first_observation_error("unknown tool 'teleport'")),
    "invalid_arguments": Fault(then_answer(tool_call("segment_objects", {"image": 0})), first_observation_error("'prompt' is a required property")),
    "malformed_arguments_json": Fault(then_answer(tool_call("estimate_depth", "{not json")), first_observation_error("not valid JSON")),
    "arguments_not_an_object": Fault(then_answer(tool_call("estimate_depth", "[1, 2]")), first_observation_error("JSON object")),
    "image_index_out_of_range": Fault(then_answer(tool_call("estimate_depth", {"image": 99})), first_observation_error("out of range")),
    "path_instead_of_image_index": Fault(then_answer(tool_call("estimate_depth", {"image": "../../etc/passwd"})), first_observation_error("is not of type 'integer'")),
    "url_instead_of_image_index": Fault(then_answer(tool_call("segment_objects", {"image": "http://example.com/x.png", "prompt": "chair"})), first_observation_error("is not of type 'integer'")),
    "point_outside_image": Fault(then_answer(tool_call("estimate_depth", {"image": 0, "points": [[1e9, 5]]})), first_observation_error("outside image")),
    "oversized_argument_list": Fault(then_answer(tool_call("estimate_depth", {"image": 0, "points": [[1, 1]] * 1000})), first_observation_error("is too long")),
    "oversized_prompt": Fault(then_answer(tool_call("segment_objects", {"image": 0, "prompt": "x" * 10_000})), first_observation_error("is too long")),
    "extra_argument": Fault(then_answer(tool_call("estimate_depth", {"image": 0, "path": "/etc/passwd"})), first_observation_error("Additional properties")),
    "endless_tool_loop": Fault(lambda attempt: tool_call("estimate_depth", {"image": 0, "points": [[attempt, 0]]}), check_endless),
    "empty_reply": Fault(lambda attempt: answer("") if attempt == 0 else answer("4"), check_empty_reply),
    "repeated_identical_call": Fault(repeated_call, check_repeated),
    "tag_form_tool_call": Fault(then_answer(answer('<tool_call>{"name": "estimate_depth", "arguments": {"image": 0}}</tool_call>')), check_tagged),
    "unparsable_tag_tool_call": Fault(then_answer(answer("<tool_call>{nope</tool_call>")), first_observation_error("unknown tool")),
    "missing_usage": Fault(always({"content": "3", "usage": None}), check_missing_usage),
    "expert_rejects_unknown_frame": Fault(then_answer(tool_call("estimate_depth", {"image": 0})), first_observation_error("rejected the request"), frames="noise"),
}
INPUT_FAULTS = {
    "corrupt_visual": "visuals could not be loaded",
    "oversized_frame": "exceeds max_frame_pixels",
    "too_many_frames": "exceed max_frames",
}


@pytest.fixture(scope="module")
def synth_frames(synth_root):
    import datasets

    test = datasets.load_dataset("parquet", data_files={"test": str(synth_root / "data" / "test.parquet")})["test"]
    return list(sample_frames(synth_root / test[0]["video"], DEFAULT_NUM_FRAMES))


def run_faults(synth_frames, triton_url, tmp_path):
    kinds = [*LLM_FAULTS, *INPUT_FAULTS]
    attempts: Counter[str] = Counter()

    def script(messages):
        kind = messages[1]["content"][-1]["text"]
        attempt = attempts[kind]
        attempts[kind] += 1
        return LLM_FAULTS[kind].script(attempt)

    noise = [np.random.default_rng(0).integers(0, 256, synth_frames[0].shape, dtype=np.uint8)]

    def load(index: int) -> Sample:
        kind = kinds[index]
        frames = noise if kind in LLM_FAULTS and LLM_FAULTS[kind].frames == "noise" else synth_frames
        if kind == "corrupt_visual":
            raise SampleError(f"faults/test/{index}: visuals could not be loaded: truncated PNG")
        if kind == "oversized_frame":
            frames = [np.zeros((5000, 5000, 3), np.uint8)]
        if kind == "too_many_frames":
            frames = synth_frames * 40
        sample = Sample(task="faults", doc_id=index, sample_id=f"faults/test/{index}", question=kind, frames=frames)
        sample.check_bounds(max_frames=256, max_frame_pixels=4096 * 4096)
        return sample

    log = TrajectoryLog(tmp_path / "run")
    with ScriptedLLM(script) as llm, ExpertsClient(triton_url, timeout_s=10) as experts:
        client = openai.OpenAI(base_url=llm.base_url, api_key="k", timeout=1.0, max_retries=2)
        policy = LLMPolicy(OpenAIEndpoint(client), "scripted", default_toolset(), max_turns=4)
        runner = Runner(policy, experts, log, run_id="faults", fingerprint="f", concurrency=8)
        keys = [SampleIdentity("faults", i, f"faults/test/{i}", question=kind, scene=None) for i, kind in enumerate(kinds)]
        returned = runner.run(keys, load)
    return kinds, returned, read_trajectories(log.path)


def test_every_fault_kind_ends_in_one_recorded_outcome(synth_frames, synth_triton, tmp_path):
    kinds, returned, recorded = run_faults(synth_frames, synth_triton.grpc_url, tmp_path)
    assert len(kinds) >= 30
    assert len(returned) == len(kinds)
    assert sorted(t.doc_id for t in recorded) == list(range(len(kinds))), "a sample was lost or duplicated"
    by_kind = {kinds[t.doc_id]: t for t in recorded}
    for kind, fault in LLM_FAULTS.items():
        fault.expect(by_kind[kind])
    for kind, fragment in INPUT_FAULTS.items():
        failed(fragment)(by_kind[kind])
    json.dumps([t.model_dump(mode="json") for t in recorded])


def test_unreachable_experts_become_error_observations_not_crashes(tmp_path):
    with ScriptedLLM(lambda messages: answer("2") if any(m["role"] == "tool" for m in messages) else tool_call("estimate_depth", {"image": 0})) as llm, ExpertsClient("127.0.0.1:1", timeout_s=2) as experts:
        client = openai.OpenAI(base_url=llm.base_url, api_key="k", max_retries=0)
        runner = Runner(LLMPolicy(OpenAIEndpoint(client), "scripted", default_toolset(), max_turns=3), experts, TrajectoryLog(tmp_path), run_id="r", fingerprint="f", concurrency=1)
        sample = Sample(task="t", doc_id=0, sample_id="t/test/0", question="q", frames=[np.zeros((8, 8, 3), np.uint8)])
        (trajectory,) = runner.run([sample.identity], lambda i: sample)
    answered("2")(trajectory)
    observation = trajectory.turns[0].observations[0]
    assert not observation.ok and "unavailable" in observation.error
