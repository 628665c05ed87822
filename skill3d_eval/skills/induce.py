"""Workflow induction from one trajectory: effective tool steps, slots, candidate final computations.

- Effective steps: the successful tool calls in order; a failed call directly followed by a
  different tool with the same arguments becomes a fallback (failed tool -> next tool). When no
  call succeeded, the calls attempted are the steps (`Induced.evidence` False): a workflow whose
  tool fails in some scenes must have those failures counted against it, not vanish from its group.
- Slots: every string argument found verbatim in the question becomes `{argument_name}` in
  both the step and the question pattern (the question line(s) holding the slots); a list
  argument equal to the options' texts becomes `{options}`, to their items `{option_items}`;
  then the question's mentions of those options become `{option_1}`, `{option_2}`, ...
- Final computation: every named operation over the observations that reproduces the
  trajectory's answer; evolution keeps the ones all successful rollouts of a group agree on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from skill3d_eval.agent.answer import format_number
from skill3d_eval.records import Trajectory
from skill3d_eval.scoring import extract_number
from skill3d_eval.skills.model import FinalComputation, Step
from skill3d_eval.skills.workflow import WorkflowError, compute_final, option_texts

MAX_CANDIDATE_PATHS = 200


@dataclass(frozen=True)
class Induced:
    question_pattern: str
    steps: tuple[Step, ...]
    fallbacks: tuple[tuple[str, str], ...]
    observations: tuple[dict[str, Any], ...] = field(compare=False, hash=False)
    evidence: bool = True  # False: every call failed; the steps are what was attempted

    @property
    def tool_sequence(self) -> tuple[str, ...]:
        return tuple(step.tool for step in self.steps)


def effective_calls(trajectory: Trajectory) -> tuple[list[tuple[str, dict[str, Any], dict[str, Any]]], list[tuple[str, str]]]:
    """(tool, arguments, observation) of the successful calls, and fallbacks seen."""
    calls: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    fallbacks: list[tuple[str, str]] = []
    failed: tuple[str, Any] | None = None
    for turn in trajectory.turns:
        by_id = {call.id: call for call in turn.tool_calls}
        for observation in turn.observations:
            call = by_id.get(observation.tool_call_id)
            if call is None or not isinstance(call.arguments, dict):
                failed = None
                continue
            if observation.ok:
                if failed and failed[0] != call.name and failed[1] == call.arguments:
                    fallbacks.append((failed[0], call.name))
                calls.append((call.name, call.arguments, observation.content))
                failed = None
            else:
                failed = (call.name, call.arguments)
    return calls, fallbacks


def attempted_calls(trajectory: Trajectory) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(tool, arguments, {}) of every call made with well-formed arguments, failed or not."""
    return [(call.name, call.arguments, {}) for turn in trajectory.turns for call in turn.tool_calls if isinstance(call.arguments, dict)]


def induce(trajectory: Trajectory, options: list[str]) -> Induced | None:
    calls, fallbacks = effective_calls(trajectory)
    evidence = bool(calls)
    if not evidence:
        calls, fallbacks = attempted_calls(trajectory), []
    if not calls:
        return None
    question = trajectory.question
    texts = [text for _, text in option_texts(options)]
    items = list(dict.fromkeys(i.strip() for t in texts for i in t.split(",") if i.strip()))
    slot_values: dict[str, str] = {}
    steps = []
    for tool, arguments, _ in calls:
        templated: dict[str, Any] = {}
        for key, value in arguments.items():
            if isinstance(value, str) and value.strip() and value.lower() in question.lower():
                name = next((n for n, v in slot_values.items() if v.lower() == value.lower()), None)
                if name is None:
                    name = key if key not in slot_values else f"{key}_{len(slot_values)}"
                    slot_values[name] = value
                templated[key] = "{" + name + "}"
            elif isinstance(value, list) and texts and [str(v) for v in value] == texts:
                templated[key] = "{options}"
            elif isinstance(value, list) and items and [str(v) for v in value] == items:
                templated[key] = "{option_items}"
            else:
                templated[key] = value
        steps.append(Step(tool=tool, arguments=templated))
    options_are_arguments = any(value in ("{options}", "{option_items}") for step in steps for value in step.arguments.values())
    pattern = _question_pattern(question, slot_values, items, options_are_arguments)
    return Induced(pattern, tuple(steps), tuple(dict.fromkeys(fallbacks)), tuple(content for _, _, content in calls), evidence)


def _question_pattern(question: str, slot_values: dict[str, str], option_items: list[str], options_are_arguments: bool) -> str:
    lines = [line.strip() for line in question.splitlines() if line.strip()]
    if slot_values:
        lines = [line for line in lines if any(v.lower() in line.lower() for v in slot_values.values())] or lines
    else:  # no entities: the line that asks
        lines = [next((line for line in lines if "?" in line), lines[0])]
    pattern = " ".join(lines)
    # Every mention of an entity is a slot (route planning names its goal twice).
    for name, value in sorted(slot_values.items(), key=lambda item: -len(item[1])):
        pattern = re.sub(r"(?<![{\w])" + re.escape(value) + r"(?![\w}])", "{" + name + "}", pattern, flags=re.IGNORECASE)
    # A question that lists the options' objects ("which of these objects (sofa, lamp, bed) ...",
    # "... order of: sofa, lamp, bed, table?") lists them in any order: the list is a slot too,
    # or every rollout would be a template of its own.
    if len(option_items) >= 2:
        item = "(?:" + "|".join(re.escape(i) for i in sorted(option_items, key=len, reverse=True)) + ")"
        pattern = re.sub(rf"(?<![{{\w]){item}(?:, {item})+(?![\w}}])", "{listed_options}", pattern, flags=re.IGNORECASE)
    # A question that names the options' objects one by one ("... closer to the camera, the table or
    # the bookshelf?", CV-Bench) names them in the options' order. When the tools took the options,
    # each is the slot of its position, or every pair of objects would be a template of its own.
    if options_are_arguments:
        for position, item in sorted(enumerate(option_items, 1), key=lambda pair: -len(pair[1])):
            pattern = re.sub(r"(?<![{\w])" + re.escape(item) + r"(?![\w}])", f"{{option_{position}}}", pattern, flags=re.IGNORECASE)
    # Literal braces in a question would read as slots.
    return re.sub(r"\{(?![a-z_][a-z0-9_]*\})", "(", pattern)


def final_candidates(observations: tuple[dict[str, Any], ...]) -> Iterator[FinalComputation]:
    """Every named final computation the observations support, simplest first."""
    leaves: list[tuple[int, str, Any]] = []
    for step, content in enumerate(observations):
        leaves += [(step, path, value) for path, value in _walk(content)][:MAX_CANDIDATE_PATHS]
    for step, path, value in leaves:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            yield FinalComputation(op="value", step=step, path=path)
            yield FinalComputation(op="value", step=step, path=path, scale=100.0)
    for step, path, value in leaves:
        if isinstance(value, str):
            yield FinalComputation(op="choose_match", step=step, path=path)
        if isinstance(value, list):
            yield FinalComputation(op="count", step=step, path=path)
            if value and all(isinstance(v, (int, float)) for v in value):
                yield FinalComputation(op="max", step=step, path=path)
                yield FinalComputation(op="max", step=step, path=path, scale=100.0)
        if isinstance(value, dict) and value and all(isinstance(v, (int, float)) for v in value.values()):
            for op in ("choose_min", "choose_max", "choose_order"):
                yield FinalComputation(op=op, step=step, path=path)  # type: ignore[arg-type]
    vectors = [(s, p) for s, p, v in leaves if isinstance(v, list) and len(v) == 3 and all(isinstance(x, (int, float)) for x in v)]
    for i, (step, path) in enumerate(vectors):
        for step_b, path_b in vectors[i + 1 :]:
            yield FinalComputation(op="distance", step=step, path=path, step_b=step_b, path_b=path_b)


def reproduces(final: FinalComputation, observations: tuple[dict[str, Any], ...], options: list[str], answer: str) -> bool:
    try:
        computed = compute_final(final, list(observations), options)
    except (WorkflowError, ValueError, TypeError):
        return False
    if options:
        return computed.strip().upper() == answer.strip().upper()[:1]
    expected = extract_number(answer)
    value = extract_number(computed)
    return expected is not None and value is not None and format_number(value) == format_number(expected)


def _walk(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    yield prefix, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _walk(child, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value and isinstance(value[0], (dict, list)):
        yield from _walk(value[0], f"{prefix}.0" if prefix else "0")
