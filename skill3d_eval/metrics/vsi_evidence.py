"""Evidence rules for VSI-Bench's ten question types (and spatial_synth, which asks them in
VSI-Bench's wording): which tool results answer the question, and the answer they imply.

Each rule returns the calls whose results support the recorded answer, empty when none does.
The objects a question is about are read from its text with VSI-Bench's templates, and a
result counts only when its arguments name those objects: measuring something else is no
evidence for this answer. A question whose text the template does not match has no evidence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise

from skill3d_eval.metrics.readings import (
    Measured,
    Question,
    Rule,
    ToolResult,
    agrees,
    detections,
    distance_kind,
    located,
    number,
    numbers,
    object_name,
    pair_distances,
    unique_least,
)
from skill3d_eval.scoring.option_letter import option_text

_NAME = r"[^?\n]+?"
COUNTING = re.compile(rf"How many (?P<category>{_NAME})\(s\)", re.IGNORECASE)
ABS_DISTANCE = re.compile(rf"distance between the (?P<a>{_NAME}) and the (?P<b>{_NAME}) \(in meters\)", re.IGNORECASE)
SIZE = re.compile(rf"longest dimension \(length, width, or height\) of the (?P<category>{_NAME}), measured in centimeters", re.IGNORECASE)
REL_DISTANCE = re.compile(rf"is the closest to the (?P<target>{_NAME})\?", re.IGNORECASE)
DIRECTION = re.compile(rf"standing by the (?P<position>{_NAME}) and facing the (?P<facing>{_NAME}), is the (?P<query>{_NAME}) to (?:my|the) ", re.IGNORECASE)
ROUTE = re.compile(
    rf"beginning at the (?P<start>{_NAME}) facing the (?P<facing>{_NAME})\. You want to navigate to the (?P<goal>{_NAME})\."
    rf".*1\. \[please fill in\] 2\. Go forward until the (?P<waypoint>{_NAME}) 3\. \[please fill in\] 4\. Go forward until the (?P=goal)\.",
    re.IGNORECASE | re.DOTALL,
)


def _supporting(answer: float | None, measured: Sequence[Measured]) -> tuple[str, ...]:
    if answer is None:
        return ()
    return tuple(dict.fromkeys(call for m in measured if agrees(answer, m.value) for call in m.calls))


def object_counting(question: Question, results: Sequence[ToolResult]) -> tuple[str, ...]:
    """The asked category located in the scene (`locate_objects`: its `count`), or detected image
    by image (`detect_objects` / `segment_objects`: the most instances seen in one image, all a
    per-image view vouches for); the answer must be that number."""
    match = COUNTING.search(question.text)
    if match is None:
        return ()
    name = object_name(match["category"])
    measured = [Measured(count, (result.call_id,)) for result, _ in located(results, name) if (count := number(result.content.get("count"))) is not None]
    seen = [d for d in detections(results) if d.name == name]
    if seen:
        most = max(len(d.boxes) for d in seen)
        measured.append(Measured(most, tuple(d.call_id for d in seen if len(d.boxes) == most)))
    return _supporting(question.number, measured)


def object_abs_distance(question: Question, results: Sequence[ToolResult]) -> tuple[str, ...]:
    """The two named objects measured (`measure_distance`, or `compare_distances` from one to the
    other; for a question measuring between centres also both located once by `locate_objects`):
    the distance of the kind the question asks for must be the answer."""
    match = ABS_DISTANCE.search(question.text)
    if match is None:
        return ()
    kind = distance_kind(question.text)
    return _supporting(question.number, pair_distances(results, object_name(match["a"]), object_name(match["b"]), kind))


def object_size_estimation(question: Question, results: Sequence[ToolResult]) -> tuple[str, ...]:
    """The named object located (`locate_objects`): the longest side of one of its instances, in
    centimetres, must be the answer."""
    match = SIZE.search(question.text)
    if match is None:
        return ()
    measured = []
    for result, instances in located(results, object_name(match["category"])):
        for instance in instances:
            if sides := numbers(instance.get("size_m")):
                measured.append(Measured(100 * max(sides), (result.call_id,)))
    return _supporting(question.number, measured)


def room_size_estimation(question: Question, results: Sequence[ToolResult]) -> tuple[str, ...]:
    """The room measured (`measure_room`): its `floor_area_m2` must be the answer."""
    measured = [Measured(area, (r.call_id,)) for r in results if r.tool == "measure_room" and (area := number(r.content.get("floor_area_m2"))) is not None]
    return _supporting(question.number, measured)


def object_rel_distance(question: Question, results: Sequence[ToolResult]) -> tuple[str, ...]:
    """Every option's object measured from the target (`compare_distances`, `measure_distance`;
    closest points unless the question says centres, the last measurement of each pair): the
    chosen option must be the unique nearest."""
    match = REL_DISTANCE.search(question.text)
    if match is None or question.letter is None:
        return ()
    target, kind = object_name(match["target"]), distance_kind(question.text)
    nearest: dict[str, Measured] = {}
    for letter, text in question.options.items():
        measured = pair_distances(results, target, object_name(text), kind)
        if not measured:
            return ()
        nearest[letter] = measured[-1]
    if unique_least({letter: m.value for letter, m in nearest.items()}) != question.letter:
        return ()
    return tuple(dict.fromkeys(call for m in nearest.values() for call in m.calls))


def _direction(question: Question, results: Sequence[ToolResult], label: str) -> tuple[str, ...]:
    match = DIRECTION.search(question.text)
    if match is None or question.chosen is None:
        return ()
    roles = {role: object_name(match[role]) for role in ("position", "facing", "query")}
    return tuple(
        r.call_id
        for r in results
        if r.tool == "relative_direction"
        and all(r.named(role) == name for role, name in roles.items())
        and isinstance(r.content.get(label), str)
        and option_text(r.content[label]) == question.chosen
    )


def object_rel_direction_easy(question: Question, results: Sequence[ToolResult]) -> tuple[str, ...]:
    """`relative_direction` with the question's position, facing and query objects in their roles:
    its `left_right` label must be the chosen option."""
    return _direction(question, results, "left_right")


def object_rel_direction_medium(question: Question, results: Sequence[ToolResult]) -> tuple[str, ...]:
    """As the easy level, with the `left_right_back` label (back from 135 degrees, VSI-Bench's rule)."""
    return _direction(question, results, "left_right_back")


def object_rel_direction_hard(question: Question, results: Sequence[ToolResult]) -> tuple[str, ...]:
    """As the easy level, with the `quadrant` label (front-left ... back-right)."""
    return _direction(question, results, "quadrant")


def route_planning(question: Question, results: Sequence[ToolResult]) -> tuple[str, ...]:
    """`plan_route` with the question's start, facing, waypoint and goal in their roles: its `turns`
    must be the chosen option. Only the one-waypoint route `plan_route` plans has a rule; VSI-Bench
    routes with more legs have no evidence."""
    match = ROUTE.search(question.text)
    if match is None or question.chosen is None:
        return ()
    roles = {role: object_name(match[role]) for role in ("start", "facing", "waypoint", "goal")}
    return tuple(
        r.call_id
        for r in results
        if r.tool == "plan_route"
        and all(r.named(role) == name for role, name in roles.items())
        and isinstance(r.content.get("turns"), str)
        and option_text(r.content["turns"]) == question.chosen
    )


def _first_images(results: Sequence[ToolResult], names: set[str]) -> dict[str, Measured]:
    """Category → first image it appears in: from `first_appearance`, or from per-image detections
    that found it in image i after finding none in every image before i."""
    first: dict[str, Measured] = {}
    seen = detections(results)
    for name in names:
        counts = {d.image: (len(d.boxes), d.call_id) for d in sorted(seen, key=lambda d: d.image) if d.name == name}
        index = 0
        while index in counts and counts[index][0] == 0:
            index += 1
        if index in counts:
            first[name] = Measured(index, tuple(counts[i][1] for i in range(index + 1)))
    for result in results:
        table = result.content.get("first_image")
        if result.tool == "first_appearance" and isinstance(table, dict):
            for category, image in table.items():
                if (name := object_name(category)) in names and (value := number(image)) is not None:
                    first[name] = Measured(value, (result.call_id,))
    return first


def obj_appearance_order(question: Question, results: Sequence[ToolResult]) -> tuple[str, ...]:
    """The first image of every category the options list (`first_appearance`, or detections image
    by image from the first): the chosen option must list its categories in strictly increasing
    order of first image (a tie decides nothing)."""
    chosen = question.letter
    if chosen is None:
        return ()
    listed = {letter: [object_name(item) for item in text.split(",")] for letter, text in question.options.items()}
    first = _first_images(results, {name for names in listed.values() for name in names if name})
    order = [first[name] for name in listed[chosen] if name in first]
    if len(order) != len(listed[chosen]) or any(a.value >= b.value for a, b in pairwise(order)):
        return ()
    return tuple(dict.fromkeys(call for m in order for call in m.calls))


VSI_RULES: dict[str, Rule] = {
    "object_counting": object_counting,
    "object_abs_distance": object_abs_distance,
    "object_size_estimation": object_size_estimation,
    "room_size_estimation": room_size_estimation,
    "object_rel_distance": object_rel_distance,
    "object_rel_direction_easy": object_rel_direction_easy,
    "object_rel_direction_medium": object_rel_direction_medium,
    "object_rel_direction_hard": object_rel_direction_hard,
    "route_planning": route_planning,
    "obj_appearance_order": obj_appearance_order,
}
