"""Effective tool usage: did the tools return the evidence the question type requires, and is
the final answer the one that evidence implies?

The original system claimed this number without computing it; our first definition counted an
answer found anywhere among the observations' values, so an agent answering "3" after one
unrelated call scored 100% (the "3" of an image index sufficed). Now each question type has a
rule (`vsi_evidence`, `view_evidence`): the tool, called on the objects the question names,
whose result implies an answer, and the answer must agree with it within the metric's
tolerance. A type without a rule has no evidence, so the rate is a lower bound. Definition:
`metrics/README.md`.
"""

from __future__ import annotations

from skill3d_eval.metrics.readings import Question, Rule, tool_results
from skill3d_eval.metrics.view_evidence import VIEW_RULES
from skill3d_eval.metrics.vsi_evidence import VSI_RULES
from skill3d_eval.records import Trajectory
from skill3d_eval.scoring.mmsi import canonical_type

EVIDENCE_RULES: dict[str, Rule] = {**VSI_RULES, **VIEW_RULES}


def evidence_calls(trajectory: Trajectory) -> list[str]:
    """Ids of the successful tool calls whose results imply the final answer under its type's rule."""
    rule = EVIDENCE_RULES.get(canonical_type(trajectory.task_type)) if trajectory.task_type else None
    if rule is None or trajectory.stop_reason == "error" or not trajectory.answer.strip():
        return []
    return list(rule(Question.of(trajectory), tool_results(trajectory)))


def used_tool_evidence(trajectory: Trajectory) -> bool:
    return bool(evidence_calls(trajectory))
