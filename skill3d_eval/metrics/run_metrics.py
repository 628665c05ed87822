"""Per-run cost and behaviour metrics computed from the trajectories, beside the benchmark score.

Every number has the run's questions as its denominator (failed questions included), so a
policy cannot look cheaper or more grounded by failing. Definitions: `metrics/README.md`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, Field

from skill3d_eval.records import RunInfo, Trajectory
from skill3d_eval.metrics.evidence import used_tool_evidence
from skill3d_eval.metrics.tool_calls import INVALID, call_failure
from skill3d_eval.tools import ToolSet, default_toolset


class RunMetrics(BaseModel):
    questions: int
    answered: int = Field(description="questions that ended with an answer (not max_turns, not a recorded failure)")
    tool_calls_per_question: float
    tool_usage: float = Field(description="share of questions with at least one tool call")
    effective_tool_usage: float = Field(description="share of questions whose tools returned the evidence their type requires and whose answer agrees with it")
    invalid_tool_call_rate: float | None = Field(description="invalid calls / all calls; None when no call was made")
    turns_per_question: float
    prompt_tokens_per_question: float
    completion_tokens_per_question: float
    seconds_per_question: float = Field(description="wall time per question, the policy's whole run")
    expert_seconds_per_question: float = Field(description="time inside tool calls (expert requests and the geometry on their results)")
    cache_hit_rate: float | None = Field(description="expert result cache hits / lookups; None when the run did not record them")
    errors: dict[str, int] = Field(default_factory=dict, description="counts by kind: question failures by exception type or stop reason, tool calls as tool:<kind>")


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def error_counts(trajectories: Sequence[Trajectory], tools: ToolSet) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for trajectory in trajectories:
        if trajectory.stop_reason == "error":
            counts[trajectory.error_kind] += 1
        elif trajectory.stop_reason == "max_turns":
            counts["max_turns"] += 1
        for turn in trajectory.turns:
            observations = {observation.tool_call_id: observation for observation in turn.observations}
            for call in turn.tool_calls:
                failure = call_failure(call, observations.get(call.id), tools)
                if failure is not None:
                    counts[f"tool:{failure}"] += 1
    return dict(sorted(counts.items()))


def compute_run_metrics(trajectories: Sequence[Trajectory], run_info: RunInfo | None = None, tools: ToolSet | None = None) -> RunMetrics:
    tools = tools or default_toolset()
    calls = [trajectory.tool_calls for trajectory in trajectories]
    errors = error_counts(trajectories, tools)
    total_calls = sum(calls)
    invalid = sum(count for kind, count in errors.items() if kind.removeprefix("tool:") in INVALID)
    return RunMetrics(
        questions=len(trajectories),
        answered=sum(t.stop_reason == "answer" for t in trajectories),
        tool_calls_per_question=_mean(calls),
        tool_usage=_mean([float(count > 0) for count in calls]),
        effective_tool_usage=_mean([float(used_tool_evidence(t)) for t in trajectories]),
        invalid_tool_call_rate=invalid / total_calls if total_calls else None,
        turns_per_question=_mean([len(t.turns) for t in trajectories]),
        prompt_tokens_per_question=_mean([sum(turn.prompt_tokens for turn in t.turns) for t in trajectories]),
        completion_tokens_per_question=_mean([sum(turn.completion_tokens for turn in t.turns) for t in trajectories]),
        seconds_per_question=_mean([t.seconds for t in trajectories]),
        expert_seconds_per_question=_mean([sum(o.seconds for turn in t.turns for o in turn.observations) for t in trajectories]),
        cache_hit_rate=run_info.expert_cache.hit_rate if run_info and run_info.expert_cache else None,
        errors=errors,
    )
