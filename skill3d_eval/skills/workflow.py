"""Executing a skill's workflow: slots from the question, tool steps, then the named final computation.

Nothing here evaluates code from the library: slots are regex groups built from the pattern's
literal text, arguments are string templates, and the final computation is one of the fixed
operations of `FinalComputation`.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from typing import Any

import numpy as np

from skill3d_eval.agent.answer import format_number
from skill3d_eval.skills.model import SLOT, FinalComputation, Step, Workflow

_OPTION_PREFIX = re.compile(r"^\(?([A-Z])\)?[.:)]\s*")


class WorkflowError(Exception):
    """The workflow does not apply to this question, or its observations cannot give an answer."""


@lru_cache(maxsize=1024)
def pattern_regex(question_pattern: str) -> re.Pattern[str]:
    parts, last = [], 0
    seen: set[str] = set()
    for match in SLOT.finditer(question_pattern):
        parts.append(_flexible(question_pattern[last : match.start()]))
        name = match.group(1)
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>[^?\\n]{{1,80}}?)")
        seen.add(name)
        last = match.end()
    parts.append(_flexible(question_pattern[last:]))
    return re.compile("".join(parts), re.IGNORECASE)


def _flexible(literal: str) -> str:
    """Literal text where any run of whitespace matches any run of whitespace."""
    return r"\s+".join(re.escape(chunk) for chunk in literal.split(" ")).replace(r"\s+\s+", r"\s+")


def option_texts(options: list[str]) -> list[tuple[str, str]]:
    """(letter, text) of each option; options without a letter prefix get A, B, C... by position."""
    result = []
    for index, option in enumerate(options):
        match = _OPTION_PREFIX.match(option.strip())
        letter = match.group(1) if match else chr(ord("A") + index)
        result.append((letter, _OPTION_PREFIX.sub("", option.strip()).strip().rstrip(".")))
    return result


def fill_slots(workflow: Workflow, question: str, options: list[str]) -> dict[str, Any]:
    match = pattern_regex(workflow.question_pattern).search(question)
    if match is None:
        raise WorkflowError(f"question does not match the pattern {workflow.question_pattern!r}: {question[:160]!r}")
    slots: dict[str, Any] = {name: value.strip() for name, value in match.groupdict().items()}
    texts = [text for _, text in option_texts(options)]
    slots["options"] = texts
    slots["option_items"] = list(dict.fromkeys(item.strip() for text in texts for item in text.split(",") if item.strip()))
    return slots


def render_arguments(step: Step, slots: dict[str, Any]) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    for key, value in step.arguments.items():
        whole = SLOT.fullmatch(value) if isinstance(value, str) else None
        if whole:
            arguments[key] = slots[whole.group(1)]
        elif isinstance(value, str):
            arguments[key] = SLOT.sub(lambda m: str(slots[m.group(1)]), value)
        elif isinstance(value, list):
            arguments[key] = [SLOT.sub(lambda m: str(slots[m.group(1)]), item) if isinstance(item, str) else item for item in value]
        else:
            arguments[key] = value
    return arguments


def read_path(observation: dict[str, Any], path: str) -> Any:
    value: Any = observation
    for part in path.split(".") if path else []:
        try:
            value = value[int(part)] if isinstance(value, list) else value[part]
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise WorkflowError(f"observation has no {path!r} (stopped at {part!r})") from exc
    return value


def compute_final(final: FinalComputation, observations: list[dict[str, Any]], options: list[str]) -> str:
    if final.step >= len(observations):
        raise WorkflowError(f"final computation reads step {final.step}, only {len(observations)} steps ran")
    value = read_path(observations[final.step], final.path)
    if final.op == "value":
        number = _number(value, final.path)
        # A number read as it stands is answered in the observation's own digits (5.454, not 5.45):
        # the answer is then a copy of the evidence, which is what a trained agent learns from these
        # trajectories; scoring reduces both forms alike (`normalize_answer`).
        return json.dumps(value) if final.scale == 1 else format_number(number * final.scale)
    if final.op == "count":
        if not isinstance(value, list):
            raise WorkflowError(f"{final.path!r} is not a list")
        return str(len(value))
    if final.op == "max":
        if not isinstance(value, list) or not value:
            raise WorkflowError(f"{final.path!r} is not a non-empty list")
        return format_number(max(_number(v, final.path) for v in value) * final.scale)
    if final.op == "distance":
        other = read_path(observations[final.step_b], final.path_b)  # type: ignore[index,arg-type]
        a, b = np.asarray(value, dtype=float), np.asarray(other, dtype=float)
        if a.shape != b.shape or a.ndim != 1:
            raise WorkflowError(f"cannot measure between {final.path!r} {a.shape} and {final.path_b!r} {b.shape}")
        return format_number(float(np.linalg.norm(a - b)) * final.scale)
    lettered = option_texts(options)
    if not lettered:
        raise WorkflowError(f"final op {final.op!r} needs answer options")
    if final.op == "choose_match":
        wanted = _plain(value)
        for letter, text in lettered:
            if _plain(text) == wanted:
                return letter
        raise WorkflowError(f"no option reads {value!r}")
    if not isinstance(value, dict):
        raise WorkflowError(f"{final.path!r} is not a mapping from option text to value")
    if final.op == "choose_order":
        for letter, text in lettered:
            items = [item.strip() for item in text.split(",")]
            ranks = [_number(value.get(item), item) for item in items]
            if ranks == sorted(ranks):
                return letter
        raise WorkflowError("no option lists the items in the observed order")
    scored = [(letter, _number(value.get(text), text)) for letter, text in lettered]
    pick = min if final.op == "choose_min" else max
    return pick(scored, key=lambda item: item[1])[0]


def _plain(value: Any) -> str:
    return " ".join(str(value).lower().split())


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise WorkflowError(f"{where!r} is not a number: {value!r}")
    return float(value)
