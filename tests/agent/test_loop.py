"""The LLM loop over real HTTP (openai SDK → scripted endpoint), without experts.

Every call here is answered by the tool layer itself (bad JSON, out-of-range image), so no
Triton is needed; the experts' side is covered in tests/integration.
"""

from __future__ import annotations

import json

import numpy as np
import openai
import pytest

from skill3d_eval.llm import OpenAIEndpoint
from skill3d_eval.agent.loop import FINAL_TURN_NOTE, LLMPolicy
from skill3d_eval.records import Sample, Trajectory
from skill3d_eval.tools import ToolContext, default_toolset
from tests.support.scripted_llm import ScriptedLLM, answer, tool_call

pytestmark = pytest.mark.integration  # a scripted OpenAI-compatible HTTP endpoint


def run(script, max_turns=3, options=()):
    sample = Sample(task="t", doc_id=0, sample_id="t/test/0", question="How far?", frames=[np.zeros((8, 8, 3), np.uint8)], options=list(options))
    trajectory = Trajectory(task="t", doc_id=0, sample_id="t/test/0", question="How far?", task_type=None, scene=None, policy="llm")
    with ScriptedLLM(script) as llm:
        client = openai.OpenAI(base_url=llm.base_url, api_key="k", max_retries=0)
        LLMPolicy(OpenAIEndpoint(client), "scripted", default_toolset(), max_turns=max_turns).run(sample, ToolContext(sample, experts=None), trajectory)
        return trajectory, llm.requests


def test_turn_budget_forces_a_final_answer_without_tools():
    def script(messages):
        return answer("The distance is 7.25 m") if messages[-1]["content"] == FINAL_TURN_NOTE else tool_call("segment_objects", {"image": 42, "prompt": "x"})

    trajectory, requests = run(script, max_turns=3)
    assert [r["tool_choice"] for r in requests] == ["auto", "auto", "none"]
    assert trajectory.answer == "7.25" and trajectory.final_text == "The distance is 7.25 m"
    assert trajectory.stop_reason == "answer" and len(trajectory.turns) == 3
    # The full history is resent every turn: the last request holds both earlier calls and observations.
    assert [m["role"] for m in requests[-1]["messages"]] == ["system", "user", "assistant", "tool", "assistant", "tool", "user"]


def test_malformed_arguments_come_back_as_an_error_the_model_can_read():
    def script(messages):
        tools = [m for m in messages if m["role"] == "tool"]
        return answer("B") if tools else tool_call("estimate_depth", "{not json")

    trajectory, requests = run(script, options=["A. left", "B. right"])
    error = json.loads(requests[1]["messages"][3]["content"])["error"]
    assert "not valid JSON" in error
    assert trajectory.turns[0].observations[0].ok is False
    assert trajectory.answer == "B"


def test_a_model_that_never_stops_calling_tools_ends_at_the_budget():
    trajectory, requests = run(lambda messages: tool_call("teleport", {}), max_turns=2)
    assert len(requests) == 2 and trajectory.stop_reason == "max_turns" and trajectory.answer == ""
