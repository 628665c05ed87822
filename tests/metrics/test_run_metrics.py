"""Run metrics on trajectories whose tool use, evidence and failures are known."""

from __future__ import annotations

import pytest

from skill3d_eval.records import ExpertCacheStats, Observation, RunInfo, ToolCall, Trajectory, Turn
from skill3d_eval.metrics import call_failure, compute_run_metrics
from skill3d_eval.tools import default_toolset

TOOLS = default_toolset()


def call(call_id: str, name: str, arguments, content=None, *, ok: bool = True, error: str | None = None, failure=None, seconds: float = 0.1):
    failure = failure or (None if ok else "tool_error")
    observation = Observation(tool_call_id=call_id, name=name, ok=ok, content=content or {}, error=error, failure=failure, seconds=seconds)
    return ToolCall(id=call_id, name=name, arguments=arguments), observation


def trajectory(answer: str, calls=(), *, question: str = "How many chair(s) are in this room?", task_type: str = "object_counting", stop_reason: str = "answer",
               error: str | None = None, tokens=(0, 0), seconds: float = 1.0) -> Trajectory:
    turns = [Turn(index=i, tool_calls=[c], observations=[o] if o else [], prompt_tokens=tokens[0], completion_tokens=tokens[1]) for i, (c, o) in enumerate(calls)]
    return Trajectory(task="t", doc_id=0, sample_id="t/test/0", question=question, task_type=task_type, scene=None, policy="llm",
                      turns=turns, answer=answer, stop_reason=stop_reason, error=error, seconds=seconds)


LOCATE_TWO = call("a", "locate_objects", {"category": "chair"}, {"count": 2, "instances": [{"center_m": [0.0, 0.0, 0.0]}, {"center_m": [1.0, 2.0, 0.0]}]})
DISTANCE = call("b", "measure_distance", {"object_a": "sofa", "object_b": "tv"}, {"center_distance_m": 4.348, "closest_point_distance_m": 3.1})
DISTANCE_QUESTION = "Measuring from the closest point of each object, what is the direct distance between the sofa and the tv (in meters)?"


@pytest.mark.parametrize(
    ("name", "arguments", "ok", "failure", "kind"),
    [
        ("locate_objects", {"category": "chair"}, True, None, None),
        ("teleport", {}, False, "unknown_tool", "unknown_tool"),
        ("locate_objects", "{not json", False, "invalid_arguments", "invalid_arguments"),
        ("locate_objects", {"category": "chair", "extra": 1}, False, "invalid_arguments", "invalid_arguments"),
        ("locate_objects", {"category": "chair"}, False, "repeated_call", "repeated_call"),
        ("locate_objects", {"category": "unicorn"}, False, "tool_error", "tool_error"),
        ("locate_objects", {"category": "chair"}, False, "expert_error", "tool_error"),
    ],
)
def test_call_failures_are_classified_from_the_tool_declarations(name, arguments, ok, failure, kind):
    # The error text says nothing: the kind comes from the declarations and the observation's typed failure.
    tool_call, observation = call("x", name, arguments, ok=ok, error="(message text is not read)", failure=failure)
    assert call_failure(tool_call, observation, TOOLS) == kind


def test_a_valid_call_without_observation_was_not_executed():
    tool_call, _ = LOCATE_TWO
    assert call_failure(tool_call, None, TOOLS) == "not_executed"


def test_run_metrics_from_known_trajectories():
    trajectories = [
        trajectory("2", [LOCATE_TWO, call("u", "teleport", {}, ok=False, error="unknown tool")], tokens=(100, 10), seconds=2.0),
        trajectory("3.1", [DISTANCE, call("v", "measure_distance", "{oops", ok=False, error="bad json")], question=DISTANCE_QUESTION, task_type="object_abs_distance",
                   tokens=(300, 30), seconds=4.0),
        trajectory("9", [], seconds=0.5),  # answered without tools (and without turns: no tokens)
        trajectory("", [call("w", "locate_objects", {"category": "x"}, ok=False, error="ExpertUnavailable")], stop_reason="error", error="ExpertUnavailable: gone", seconds=1.5),
        trajectory("", [], stop_reason="max_turns", seconds=2.0),
    ]
    metrics = compute_run_metrics(trajectories)
    assert metrics.questions == 5 and metrics.answered == 3
    assert metrics.tool_calls_per_question == pytest.approx(5 / 5)
    assert metrics.tool_usage == pytest.approx(3 / 5)
    assert metrics.effective_tool_usage == pytest.approx(2 / 5)  # failed questions stay in the denominator
    assert metrics.invalid_tool_call_rate == pytest.approx(2 / 5)
    assert metrics.turns_per_question == pytest.approx(5 / 5)
    assert metrics.prompt_tokens_per_question == pytest.approx((2 * 100 + 2 * 300) / 5)
    assert metrics.completion_tokens_per_question == pytest.approx((2 * 10 + 2 * 30) / 5)
    assert metrics.seconds_per_question == pytest.approx(10.0 / 5)
    assert metrics.expert_seconds_per_question == pytest.approx(0.5 / 5)
    assert metrics.cache_hit_rate is None
    assert metrics.errors == {"ExpertUnavailable": 1, "max_turns": 1, "tool:invalid_arguments": 1, "tool:tool_error": 1, "tool:unknown_tool": 1}


def test_cache_hit_rate_when_the_run_recorded_it():
    metrics = compute_run_metrics([trajectory("2", [LOCATE_TWO])], RunInfo(run_id="r", expert_cache=ExpertCacheStats(hits=3, misses=1)))
    assert metrics.cache_hit_rate == pytest.approx(0.75)
    assert compute_run_metrics([trajectory("2")]).invalid_tool_call_rate is None  # no calls: n/a, not 0
