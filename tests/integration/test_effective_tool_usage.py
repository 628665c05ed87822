"""Effective tool usage cannot be gamed, shown through the stock lmms-eval CLI.

A user found that an agent answering "3" to everything had 100% effective tool usage: one
unrelated call returned a 3 somewhere (an image index). Here an LLM endpoint does exactly that
(one arbitrary call, then "3", or "A" where the answer is a letter) on VSI-Bench-, CV-Bench- and
MMSI-style questions, and the metric, read as the leaderboard reads it (`compute_run_metrics`
over the run's trajectories), must stay near 0; the program policy, whose answers are read off
the evidence its tools returned, stays at the top.
"""

from __future__ import annotations

import pytest

from skill3d_eval.agent.chat import ANSWER_FORMS
from skill3d_eval.evaluate import run_lmms_eval
from skill3d_eval.metrics import compute_run_metrics
from skill3d_eval.trajectory_log import read_trajectories
from tests.support.scripted_llm import ScriptedLLM, answer, tool_call

pytestmark = pytest.mark.integration

TASKS = ["spatial_synth", "spatial_synth_cv3d", "spatial_synth_mmsi"]
LIMIT = 3


def constant_agent(messages):
    """One call that returns no evidence for any question (depth statistics of image 3, or of the
    last image when there are fewer), then a constant answer in the form the prompt asks for."""
    if not any(message["role"] == "tool" for message in messages):
        images = sum(part.get("type") == "image_url" for part in messages[1]["content"])
        return tool_call("estimate_depth", {"image": min(3, images - 1)})
    return answer("A" if ANSWER_FORMS["choice"] in messages[0]["content"] else "3")


def test_a_constant_answer_after_one_arbitrary_call_is_not_effective(synth_triton, tmp_path):
    with ScriptedLLM(constant_agent) as llm:
        run_lmms_eval(
            TASKS,
            {
                "policy": "llm",
                "base_url": llm.base_url,
                "api_key": "test-key",
                "model": "scripted",
                "triton_url": synth_triton.grpc_url,
                "output_dir": tmp_path / "runs",
                "run_name": "constant",
                "concurrency": 2,
            },
            tmp_path / "out",
            limit=LIMIT,
        )

    trajectories = read_trajectories(tmp_path / "runs" / "constant" / "trajectories.jsonl")
    assert sorted({t.task for t in trajectories}) == sorted(TASKS) and len(trajectories) == LIMIT * len(TASKS)
    for trajectory in trajectories:
        (call,) = [call for turn in trajectory.turns for call in turn.tool_calls]
        assert call.name == "estimate_depth" and trajectory.turns[0].observations[0].ok
        assert trajectory.answer == ("A" if trajectory.options else "3")
    assert {t.answer for t in trajectories} == {"3", "A"}

    metrics = compute_run_metrics(trajectories)
    assert metrics.tool_usage == 1.0
    assert metrics.effective_tool_usage <= 0.10


def test_the_program_policy_on_oracle_experts_is_effective(program_run):
    metrics = compute_run_metrics(read_trajectories(program_run))
    assert metrics.answered == metrics.questions
    assert metrics.effective_tool_usage >= 0.95
