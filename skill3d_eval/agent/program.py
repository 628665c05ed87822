"""The `program` policy: a fixed workflow per question type, executed without any LLM.

Slots (object names) are read from the question by the benchmark's own templates, the
workflow's tool calls go through the same tool layer the LLM uses, and the answer is computed
from the observations. It gives meaningful scores offline and is the executable form that
skills take once the Skill Library exists.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from skill3d_eval.agent.answer import format_number
from skill3d_eval.agent.records import Sample, ToolCall, Trajectory, Turn
from skill3d_eval.tools import ToolContext, ToolSet


@dataclass(frozen=True)
class Workflow:
    question: re.Pattern[str]
    steps: list[tuple[str, dict[str, str]]]
    answer: Callable[[list[dict[str, Any]]], str]


WORKFLOWS: dict[str, Workflow] = {
    "object_counting": Workflow(
        question=re.compile(r"how many (?P<category>.+?)(?:\(s\)|s)? are (?:there )?in", re.I),
        steps=[("locate_objects", {"category": "{category}"})],
        answer=lambda observations: str(observations[0]["count"]),
    ),
    "object_abs_distance": Workflow(
        question=re.compile(r".*between the (?P<object_a>.+?) and the (?P<object_b>.+?)(?: \(in meters\)|\?|$)", re.I),
        steps=[("measure_distance", {"object_a": "{object_a}", "object_b": "{object_b}"})],
        answer=lambda observations: format_number(observations[0]["center_distance_m"]),
    ),
}


class ProgramError(Exception):
    pass


class ProgramPolicy:
    name = "program"

    def __init__(self, tools: ToolSet, workflows: dict[str, Workflow] | None = None):
        self.tools = tools
        self.workflows = WORKFLOWS if workflows is None else workflows

    def run(self, sample: Sample, context: ToolContext, trajectory: Trajectory) -> Trajectory:
        workflow = self.workflows.get(sample.task_type or "")
        if workflow is None:
            raise ProgramError(f"no workflow for question type {sample.task_type!r}")
        match = workflow.question.search(sample.question)
        if match is None:
            raise ProgramError(f"question does not match the {sample.task_type} template: {sample.question[:120]!r}")
        slots = {name: value.strip() for name, value in match.groupdict().items()}
        observations = []
        for index, (tool, template) in enumerate(workflow.steps):
            started = time.perf_counter()
            call = ToolCall(id=f"program-{index}", name=tool, arguments={k: v.format(**slots) for k, v in template.items()})
            observation = self.tools.call(context, call.name, call.arguments, call.id)
            trajectory.turns.append(Turn(index=index, tool_calls=[call], observations=[observation], seconds=time.perf_counter() - started))
            if not observation.ok:
                raise ProgramError(f"step {tool} failed: {observation.error}")
            observations.append(observation.content)
        trajectory.answer = workflow.answer(observations)
        trajectory.final_text = trajectory.answer
        trajectory.stop_reason = "answer"
        return trajectory
