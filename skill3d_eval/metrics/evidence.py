"""Effective tool usage: did the final answer use evidence a tool call returned?

The original system claimed this number without computing it. Here it is a property of one
trajectory, decided from its data alone (definition and limits in `metrics/README.md`): the
answer must be found among the values of a successful observation — a number equal to the
answer at the answer's own precision (or the distance between two returned 3D points, or the
number of returned items), or the chosen option's text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from skill3d_eval.records import Observation, Trajectory

_OPTION_LINE = re.compile(r"^\s*\(?([A-Z])\)?[.:)]\s*(.+?)\s*$", re.MULTILINE)
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def normalise_text(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(".")


def question_options(question: str) -> dict[str, str]:
    """Letter → option text, read from the option lines ("A. sofa") of the prompt the agent saw."""
    return {letter: normalise_text(text) for letter, text in _OPTION_LINE.findall(question)}


def _atoms(value: Any) -> Iterator[Any]:
    """Every number and string leaf, every object key, every list of strings joined by ', ',
    and the length of every list of objects (a count of returned items)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _atoms(item)
    elif isinstance(value, list):
        if value and all(isinstance(item, str) for item in value):
            yield ", ".join(value)
        if value and all(isinstance(item, dict) for item in value):
            yield len(value)
        for item in value:
            yield from _atoms(item)
    elif isinstance(value, (bool, type(None))):
        return
    elif isinstance(value, (int, float, str)):
        yield value


def _points(value: Any) -> Iterator[tuple[float, float, float]]:
    """Every list of exactly three finite numbers: a 3D point an observation returned."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _points(item)
    elif isinstance(value, list):
        if len(value) == 3 and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value):
            yield (float(value[0]), float(value[1]), float(value[2]))
        else:
            for item in value:
                yield from _points(item)


class _NumberMatch:
    """A numeric answer with `d` decimals matches v when |v − answer| ≤ ½·10^(−d); integers match integers exactly."""

    def __init__(self, answer: str):
        self.target = Decimal(answer)
        exponent = self.target.as_tuple().exponent
        self.decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        self.tolerance = Decimal(5) / Decimal(10) ** (self.decimals + 1)

    def matches(self, value: float) -> bool:
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if self.decimals == 0:
            return isinstance(value, int) and value == self.target
        return abs(Decimal(repr(value)) - self.target) <= self.tolerance

    def found_in(self, observation: Observation) -> bool:
        return any(not isinstance(atom, str) and self.matches(atom) for atom in _atoms(observation.content))


def _distance_evidence(match: _NumberMatch, observations: list[Observation]) -> list[str]:
    """Calls whose returned points are the answer's distance apart (an answer computed from two centres)."""
    if match.decimals == 0:
        return []
    points = [(observation.tool_call_id, point) for observation in observations for point in _points(observation.content)]
    for i, (call_a, a) in enumerate(points):
        for call_b, b in points[i + 1 :]:
            if match.matches(math.dist(a, b)):
                return list(dict.fromkeys([call_a, call_b]))
    return []


def _supports_choice(option_text: str, observation: Observation) -> bool:
    return any(isinstance(atom, str) and normalise_text(atom) == option_text for atom in _atoms(observation.content))


def evidence_calls(trajectory: Trajectory) -> list[str]:
    """Ids of the successful tool calls whose observations hold (or, for a distance, give) the final answer."""
    answer = trajectory.answer.strip()
    if not answer or trajectory.stop_reason == "error":
        return []
    observations = [observation for turn in trajectory.turns for observation in turn.observations if observation.ok]
    if _NUMBER.match(answer):
        match = _NumberMatch(answer)
        direct = [observation.tool_call_id for observation in observations if match.found_in(observation)]
        return direct or _distance_evidence(match, observations)
    option = question_options(trajectory.question).get(answer.upper())
    if option is None:
        return []
    return [observation.tool_call_id for observation in observations if _supports_choice(option, observation)]


def used_tool_evidence(trajectory: Trajectory) -> bool:
    return bool(evidence_calls(trajectory))
