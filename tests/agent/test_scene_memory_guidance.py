"""The LLM policy with the run's Scene Memory: a later question on the scene is told the facts an
earlier one established (its system prompt, its recorded guidance), and a repeated call is
answered from memory without asking the experts."""

from __future__ import annotations

import numpy as np
import openai
import pytest

from skill3d_eval.agent.loop import LLMPolicy
from skill3d_eval.llm import OpenAIEndpoint
from skill3d_eval.records import Sample, Trajectory
from skill3d_eval.tools import SceneMemoryStore, ToolContext, default_toolset
from tests.support.pixel_experts import PixelExperts
from tests.support.scripted_llm import ScriptedLLM, answer, tool_call

pytestmark = pytest.mark.integration  # a scripted OpenAI-compatible HTTP endpoint

FRAMES = [np.full((12, 16, 3), value, np.uint8) for value in (40, 120, 220)]


def ask(llm: ScriptedLLM, sample_id: str, experts: PixelExperts, memory: SceneMemoryStore | None) -> Trajectory:
    sample = Sample(task="spatial_synth", doc_id=0, sample_id=sample_id, question="How big is this room?", frames=FRAMES, scene="synth_0003", split="test")
    trajectory = Trajectory(task=sample.task, doc_id=0, sample_id=sample_id, question=sample.question, task_type=None, scene=sample.scene, policy="llm")
    policy = LLMPolicy(OpenAIEndpoint(openai.OpenAI(base_url=llm.base_url, api_key="k", max_retries=0)), "scripted", default_toolset(), max_turns=3)
    return policy.run(sample, ToolContext(sample, experts, memory), trajectory)


def measure_then_answer(messages):
    return answer("12 square metres") if any(m["role"] == "tool" for m in messages) else tool_call("measure_room", {})


@pytest.mark.parametrize("with_memory", [True, False])
def test_a_later_question_is_told_the_scene_facts_and_reuses_the_call(with_memory):
    experts, memory = PixelExperts(), SceneMemoryStore() if with_memory else None
    with ScriptedLLM(measure_then_answer) as llm:
        first = ask(llm, "spatial_synth/test/1", experts, memory)
        second = ask(llm, "spatial_synth/test/2", experts, memory)
        systems = [request["messages"][0]["content"] for request in llm.requests]
    assert first.guidance is None
    (first_observation,), (second_observation,) = first.turns[0].observations, second.turns[0].observations
    assert first_observation.ok and second_observation.content == first_observation.content
    if not with_memory:
        assert second.guidance is None and second_observation.memory is None and second_observation.expert_calls == 4
        assert experts.calls == {"reconstruction": 2, "depth": 6}
        return
    assert "Known facts about scene synth_0003" in second.guidance and "room room_extent" in second.guidance
    assert f'"floor_area_m2":{first_observation.content["floor_area_m2"]}' in second.guidance
    assert all(second.guidance in system for system in systems[2:]) and not any("Known facts" in system for system in systems[:2])
    assert second_observation.memory.reused and second_observation.memory.source_sample_id == "spatial_synth/test/1"
    assert second_observation.expert_calls == 0 and experts.calls == {"reconstruction": 1, "depth": 3}
