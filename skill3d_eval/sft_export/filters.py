"""Which trajectories may become training data, and why the others may not.

Every rejection has a named reason, counted in the data card: training on a wrong answer,
a malformed call or an oversized sample would teach exactly what the skills are meant to avoid.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from skill3d_eval.records import Trajectory
from skill3d_eval.metrics.tool_calls import INVALID, call_failure
from skill3d_eval.tools import ToolSet


class ExportFilters(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    only_correct: bool = Field(True, description="keep answers the benchmark's metric scores at least min_score")
    min_score: float = Field(1.0, ge=0.0, le=1.0, description="for numeric answers MRA is graded: 1.0 means within 5% of the truth")
    only_well_formed: bool = Field(True, description="every call names a known tool, its arguments pass the schema, and it succeeded")
    max_turns: int = Field(6, ge=1, description="turns with tool calls, plus the answer")
    max_images: int = Field(32, ge=1)


def rejection_reason(trajectory: Trajectory, score: float, images: int, tools: ToolSet, filters: ExportFilters) -> str | None:
    """The first reason this trajectory is not exported, or None."""
    if trajectory.stop_reason != "answer" or not trajectory.answer:
        return f"not_answered:{trajectory.stop_reason}"
    if filters.only_correct and score < filters.min_score:
        return "incorrect"
    if filters.only_well_formed:
        for turn in trajectory.turns:
            observations = {observation.tool_call_id: observation for observation in turn.observations}
            failures = [call_failure(call, observations.get(call.id), tools) for call in turn.tool_calls]
            if invalid := next((failure for failure in failures if failure in INVALID), None):
                return invalid
            if any(not observation.ok for observation in turn.observations):
                return "failed_tool_call"
    turns = sum(1 for turn in trajectory.turns if turn.tool_calls) + 1
    if turns > filters.max_turns:
        return "too_many_turns"
    if images > filters.max_images:
        return "too_many_images"
    return None
