"""Run metrics on trajectories whose tool use, evidence and failures are known."""

from __future__ import annotations

import pytest

from skill3d_eval.records import ExpertCacheStats, Observation, RunInfo, ToolCall, Trajectory, Turn
from skill3d_eval.metrics import call_failure, compute_run_metrics, evidence_calls, question_options, used_tool_evidence
from skill3d_eval.tools import default_toolset

TOOLS = default_toolset()


def call(call_id: str, name: str, arguments, content=None, *, ok: bool = True, error: str | None = None, failure=None, seconds: float = 0.1):
    failure = failure or (None if ok else "tool_error")
    observation = Observation(tool_call_id=call_id, name=name, ok=ok, content=content or {}, error=error, failure=failure, seconds=seconds)
    return ToolCall(id=call_id, name=name, arguments=arguments), observation


def trajectory(answer: str, calls=(), *, question: str = "q", stop_reason: str = "answer", error: str | None = None, tokens=(0, 0), seconds: float = 1.0) -> Trajectory:
    turns = [Turn(index=i, tool_calls=[c], observations=[o] if o else [], prompt_tokens=tokens[0], completion_tokens=tokens[1]) for i, (c, o) in enumerate(calls)]
    return Trajectory(task="t", doc_id=0, sample_id="t/test/0", question=question, task_type=None, scene=None, policy="llm",
                      turns=turns, answer=answer, stop_reason=stop_reason, error=error, seconds=seconds)


LOCATE_TWO = call("a", "locate_objects", {"category": "chair"}, {"count": 2, "instances": [{"center_m": [0.0, 0.0, 0.0]}, {"center_m": [1.0, 2.0, 0.0]}]})
DISTANCE = call("b", "measure_distance", {"object_a": "sofa", "object_b": "tv"}, {"center_distance_m": 4.348, "center_a_m": [7.2, 0.1, 0.3]})
MC_QUESTION = "Which object is closest to the bed?\nOptions:\nA. lamp\nB. Sofa\nC. desk"
COMPARE = call("c", "compare_distances", {"reference": "bed", "candidates": ["sofa", "desk"]}, {"reference": "bed", "center_distance_m": {"sofa": 1.2, "desk": 2.0}})


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (trajectory("2", [LOCATE_TWO]), ["a"]),  # a returned count
        (trajectory("4.35", [DISTANCE]), ["b"]),  # the returned distance at the answer's precision
        (trajectory("4.3", [DISTANCE]), ["b"]),  # ... also at one decimal
        (trajectory("4.36", [DISTANCE]), []),  # off by more than half a unit of the last place
        (trajectory("2.24", [LOCATE_TWO]), ["a"]),  # the distance between two returned centres (√5)
        (trajectory("7", [DISTANCE]), []),  # integers match integers only, not the coordinate 7.2
        (trajectory("B", [COMPARE], question=MC_QUESTION), ["c"]),  # the chosen option's text is in the observation
        (trajectory("A", [COMPARE], question=MC_QUESTION), []),  # "lamp" never came back
        (trajectory("2", [call("a", "locate_objects", {"category": "chair"}, {"count": 2}, ok=False, error="x")]), []),  # failed calls are no evidence
        (trajectory("", [LOCATE_TWO], stop_reason="error", error="ExpertUnavailable: down"), []),
    ],
)
def test_evidence_the_answer_used(t, expected):
    assert evidence_calls(t) == expected
    assert used_tool_evidence(t) is bool(expected)


def test_options_are_read_from_the_prompt():
    assert question_options(MC_QUESTION) == {"A": "lamp", "B": "sofa", "C": "desk"}


def test_appearance_order_option_matches_the_returned_order():
    t = trajectory("A", [call("d", "first_appearance", {"categories": ["tv", "bed"]}, {"first_image": {"tv": 0, "bed": 3}, "order": ["tv", "bed"]})],
                   question="Which order?\nA. tv, bed\nB. bed, tv")
    assert evidence_calls(t) == ["d"]


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
        trajectory("4.35", [DISTANCE, call("v", "measure_distance", "{oops", ok=False, error="bad json")], tokens=(300, 30), seconds=4.0),
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
