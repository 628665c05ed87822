"""What went wrong with a tool call, decided from the trajectory and the tools' own declarations.

A call is *invalid* when it could never have run: the tool name is unknown or the arguments
fail the tool's schema. That is re-checked with the same `ToolSet` declarations the agent was
given, not guessed from error text, so the rate cannot drift from what the agent saw.
"""

from __future__ import annotations

from typing import Literal

from skill3d_eval.records import Observation, ToolCall
from skill3d_eval.tools import ToolArgumentError, ToolSet

CallFailure = Literal["unknown_tool", "invalid_arguments", "not_executed", "repeated_call", "tool_error"]
INVALID: frozenset[CallFailure] = frozenset({"unknown_tool", "invalid_arguments"})


def call_failure(call: ToolCall, observation: Observation | None, tools: ToolSet) -> CallFailure | None:
    """None for a call that ran and succeeded; otherwise why it did not."""
    tool = tools.tools.get(call.name)
    if tool is None:
        return "unknown_tool"
    try:
        tool.parse(call.arguments)
    except ToolArgumentError:
        return "invalid_arguments"
    if observation is None:
        return "not_executed"
    if observation.ok:
        return None
    if observation.failure == "repeated_call":
        return "repeated_call"
    return "tool_error"
