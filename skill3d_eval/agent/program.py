"""The `program` policy: retrieve the best skill for the question and execute its workflow, no LLM.

Slots are filled from the question by the skill's pattern, its tool steps go through the same
tool layer the LLM uses (a failed step is retried once with the skill's fallback tool), and the
answer is the skill's named final computation over the observations. When a skill does not fit
(pattern, failed step, unusable observation) the next retrieved skill is tried; every attempt
stays in the trajectory, so failures are data for evolution.
"""

from __future__ import annotations

import time
from typing import Any

from skill3d_eval.agent.skill_retrieval import Library, retrieve_for
from skill3d_eval.records import Observation, Sample, ToolCall, Trajectory, Turn
from skill3d_eval.skills.model import Skill
from skill3d_eval.skills.workflow import (
    WorkflowError,
    compute_final,
    fill_slots,
    render_arguments,
)
from skill3d_eval.tools import ToolContext, ToolSet


class ProgramError(Exception):
    pass


class ProgramPolicy:
    name = "program"

    def __init__(self, tools: ToolSet, library: Library | None = None, *, max_skills: int = 3):
        if library is None:
            from skill3d_eval.skills.seeds import seed_library

            library = seed_library()
        self.tools = tools
        self.library = library
        self.max_skills = max_skills

    def run(self, sample: Sample, context: ToolContext, trajectory: Trajectory) -> Trajectory:
        retrieval = retrieve_for(self.library, sample, set(self.tools.tools), context, trajectory)
        reasons = []
        for hit in retrieval.hits[: self.max_skills]:
            try:
                answer = self._execute(hit.skill, sample, context, trajectory)
            except WorkflowError as exc:
                reasons.append(f"{hit.skill.id}: {exc}")
                continue
            trajectory.executed_skill = hit.skill.id
            trajectory.answer = trajectory.final_text = answer
            trajectory.stop_reason = "answer"
            return trajectory
        if not reasons:
            raise ProgramError(f"no skill for question type {sample.task_type!r} in library {self.library.sha256[:12]}")
        raise ProgramError("no retrieved skill could answer: " + "; ".join(reasons))

    def _execute(self, skill: Skill, sample: Sample, context: ToolContext, trajectory: Trajectory) -> str:
        workflow = skill.workflow
        slots = fill_slots(workflow, sample.question, sample.options)
        observations: list[dict[str, Any]] = []
        for step in workflow.steps:
            arguments = render_arguments(step, slots)
            observation = self._call(step.tool, arguments, context, trajectory)
            fallback = workflow.fallbacks.get(step.tool)
            if not observation.ok and fallback:
                observation = self._call(fallback, arguments, context, trajectory)
            if not observation.ok:
                raise WorkflowError(f"step {observation.name} failed: {observation.error}")
            observations.append(observation.content)
        return compute_final(workflow.final, observations, sample.options)

    def _call(self, tool: str, arguments: dict[str, Any], context: ToolContext, trajectory: Trajectory) -> Observation:
        started = time.perf_counter()
        index = len(trajectory.turns)
        call = ToolCall(id=f"program-{index}", name=tool, arguments=arguments)
        observation = self.tools.call(context, call.name, call.arguments, call.id)
        trajectory.turns.append(Turn(index=index, tool_calls=[call], observations=[observation], seconds=time.perf_counter() - started))
        return observation
