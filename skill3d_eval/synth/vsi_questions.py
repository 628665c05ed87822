"""The VSI-Bench question types beyond counting and distance, in VSI-Bench's own wording.

Each type has a template, a parser and an answer function of the scene (appearance order also
of per-frame visibility), used both to write rows and to re-check them. Objects are named by
category, so only categories that occur once are named where one object is meant. Questions
whose answer would hinge on centimetres (near ties, angles near a boundary) are not asked.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping

import numpy as np

from skill3d_eval.synth import directions
from skill3d_eval.synth.options import (
    letter_of,
    option_texts,
    shuffled_options,
    vsi_options,
)
from skill3d_eval.synth.question_record import Question, UnanswerableQuestion
from skill3d_eval.synth.scene import Scene, SceneObject, closest_point_distance

OBJECT_SIZE = "object_size_estimation"
ROOM_SIZE = "room_size_estimation"
REL_DISTANCE = "object_rel_distance"
REL_DIRECTION_EASY = "object_rel_direction_easy"
REL_DIRECTION_MEDIUM = "object_rel_direction_medium"
REL_DIRECTION_HARD = "object_rel_direction_hard"
ROUTE_PLANNING = "route_planning"
APPEARANCE_ORDER = "obj_appearance_order"
NEW_TYPES = (
    OBJECT_SIZE, ROOM_SIZE, REL_DISTANCE, REL_DIRECTION_EASY, REL_DIRECTION_MEDIUM, REL_DIRECTION_HARD,
    ROUTE_PLANNING, APPEARANCE_ORDER,
)
CHOICE_TYPES = (REL_DISTANCE, REL_DIRECTION_EASY, REL_DIRECTION_MEDIUM, REL_DIRECTION_HARD, ROUTE_PLANNING, APPEARANCE_ORDER)

REL_DISTANCE_MARGIN = 0.25  # metres between the closest and the runner-up
MIN_SEPARATION = 0.5  # metres between the centres of objects a direction question relates

TEMPLATES = {
    OBJECT_SIZE: "What is the length of the longest dimension (length, width, or height) of the {category}, measured in centimeters?",
    ROOM_SIZE: "What is the size of this room (in square meters)? If multiple rooms are shown, estimate the size of the combined space.",
    REL_DISTANCE: "Measuring from the closest point of each object, which of these objects ({choices}) is the closest to the {target}?",
    REL_DIRECTION_EASY: "If I am standing by the {position} and facing the {facing}, is the {query} to the left or the right of the {facing}?",
    REL_DIRECTION_MEDIUM: (
        "If I am standing by the {position} and facing the {facing}, is the {query} to my left, right, or back? "
        "An object is to my back if I would have to turn at least 135 degrees in order to face it."
    ),
    REL_DIRECTION_HARD: (
        "If I am standing by the {position} and facing the {facing}, is the {query} to my front-left, front-right, "
        "back-left, or back-right? The directions refer to the quadrants of a Cartesian plane (if I am standing at "
        "the origin and facing along the positive y-axis)."
    ),
    ROUTE_PLANNING: (
        "You are a robot beginning at the {start} facing the {facing}. You want to navigate to the {goal}. You will "
        "perform the following actions (Note: for each [please fill in], choose either 'turn back,' 'turn left,' or "
        "'turn right.'): 1. [please fill in] 2. Go forward until the {waypoint} 3. [please fill in] 4. Go forward "
        "until the {goal}. You have reached the final destination."
    ),
    APPEARANCE_ORDER: "What will be the first-time appearance order of the following categories in the video: {choices}?",
}
DIRECTION_OPTIONS = {
    REL_DIRECTION_EASY: ("left", "right"),
    REL_DIRECTION_MEDIUM: ("left", "right", "back"),
    REL_DIRECTION_HARD: ("front-left", "front-right", "back-left", "back-right"),
}
TURNS = ("Turn Left", "Turn Right", "Turn Back")
_NAME = r"[a-z][a-z ]*?"


def _pattern(template: str) -> re.Pattern:
    escaped = re.escape(template)
    for field in ("category", "target", "position", "facing", "query", "start", "goal", "waypoint"):
        escaped = escaped.replace(re.escape("{" + field + "}"), f"(?P<{field}>{_NAME})", 1)
        escaped = escaped.replace(re.escape("{" + field + "}"), f"(?P={field})")
    return re.compile(escaped.replace(re.escape("{choices}"), r"(?P<choices>[a-z ,]+?)"))


PATTERNS = {qtype: _pattern(template) for qtype, template in TEMPLATES.items()}


Unanswerable = UnanswerableQuestion


def the_only(scene: Scene, category: str) -> SceneObject:
    matches = scene.objects_of(category)
    if len(matches) != 1:
        raise Unanswerable(f"{scene.name}: '{category}' names {len(matches)} objects, not one")
    return matches[0]


def object_size_answer(scene: Scene, category: str) -> str:
    return str(round(max(the_only(scene, category).size) * 100))


def room_size_answer(scene: Scene) -> str:
    return f"{scene.room.width * scene.room.depth:.2f}"


def closest_of(scene: Scene, target: str, choices: list[str]) -> str:
    anchor = the_only(scene, target)
    distances = sorted((closest_point_distance(anchor, the_only(scene, c)), c) for c in choices)
    if distances[1][0] - distances[0][0] < REL_DISTANCE_MARGIN:
        raise Unanswerable(f"{scene.name}: {distances[0][1]} and {distances[1][1]} are near-equally close to {target}")
    return distances[0][1]


def direction_of(scene: Scene, qtype: str, position: str, facing: str, query: str) -> str:
    a, b, c = (the_only(scene, name) for name in (position, facing, query))
    if min(np.linalg.norm(np.subtract(p.center, q.center)[:2]) for p, q in ((a, b), (a, c), (b, c))) < MIN_SEPARATION:
        raise Unanswerable(f"{scene.name}: {position}, {facing}, {query} stand too close together")
    angle = directions.signed_angle(a.center, b.center, c.center)
    decide = {
        REL_DIRECTION_EASY: directions.left_or_right,
        REL_DIRECTION_MEDIUM: directions.left_right_or_back,
        REL_DIRECTION_HARD: directions.quadrant,
    }[qtype]
    try:
        return decide(angle)
    except directions.Ambiguous as exc:
        raise Unanswerable(f"{scene.name}: {query} from {position} facing {facing}: {exc}") from exc


def route_turns(scene: Scene, start: str, facing: str, waypoint: str, goal: str) -> str:
    s, f, w, g = (np.asarray(the_only(scene, name).center) for name in (start, facing, waypoint, goal))
    try:
        first = directions.turn(directions.signed_angle(s, f, w))
        second = directions.turn(directions.signed_angle(w, w + (w - s), g))
    except directions.Ambiguous as exc:
        raise Unanswerable(f"{scene.name}: route {start} -> {waypoint} -> {goal}: {exc}") from exc
    return f"{first}, {second}"


def first_appearances(scene: Scene, visible: Mapping[int, Mapping[int, int]], min_pixels: int) -> dict[str, int]:
    """Category -> first frame index where one of its objects covers `min_pixels`."""
    first: dict[str, int] = {}
    for frame_index in sorted(visible):
        for obj in scene.objects:
            if visible[frame_index].get(obj.instance_id, 0) >= min_pixels:
                first.setdefault(obj.category, frame_index)
    return first


def appearance_order(scene: Scene, choices: list[str], visible: Mapping[int, Mapping[int, int]], min_pixels: int) -> str:
    first = first_appearances(scene, visible, min_pixels)
    if missing := [c for c in choices if c not in first]:
        raise Unanswerable(f"{scene.name}: {missing} never appear")
    frames = [first[c] for c in choices]
    if len(set(frames)) != len(frames):
        raise Unanswerable(f"{scene.name}: {choices} do not first appear in distinct frames ({frames})")
    return ", ".join(sorted(choices, key=first.get))


def _unique_categories(scene: Scene) -> list[str]:
    counts: dict[str, int] = {}
    for obj in scene.objects:
        counts[obj.category] = counts.get(obj.category, 0) + 1
    return sorted(c for c, n in counts.items() if n == 1)


def _distractor_orders(correct: list[str], rng: np.random.Generator, n: int = 3) -> list[str]:
    others = [list(p) for p in itertools.permutations(correct) if list(p) != correct]
    return [", ".join(others[i]) for i in rng.choice(len(others), size=n, replace=False)]


def make_vsi_questions(
    scene: Scene, rng: np.random.Generator, visible: Mapping[int, Mapping[int, int]] | None, min_pixels: int
) -> list[Question]:
    """Up to one question of each new type (two of object size) that the scene answers clearly."""
    singles = _unique_categories(scene)
    questions = []
    for category in [singles[i] for i in rng.permutation(len(singles))][:2]:
        questions.append(Question(OBJECT_SIZE, TEMPLATES[OBJECT_SIZE].format(category=category), object_size_answer(scene, category)))
    questions.append(Question(ROOM_SIZE, TEMPLATES[ROOM_SIZE], room_size_answer(scene)))

    def attempts(k: int):
        for _ in range(30):
            if len(singles) >= k:
                yield [singles[i] for i in rng.choice(len(singles), size=k, replace=False)]

    for names in attempts(5 if len(singles) >= 5 else 4):
        target, choices = names[0], names[1:]
        try:
            closest = closest_of(scene, target, choices)
        except Unanswerable:
            continue
        options = vsi_options(choices)
        text = TEMPLATES[REL_DISTANCE].format(choices=", ".join(choices), target=target)
        questions.append(Question(REL_DISTANCE, text, letter_of(options, closest), options))
        break
    for qtype in (REL_DIRECTION_EASY, REL_DIRECTION_MEDIUM, REL_DIRECTION_HARD):
        for position, facing, query in attempts(3):
            try:
                answer = direction_of(scene, qtype, position, facing, query)
            except Unanswerable:
                continue
            options = vsi_options(list(DIRECTION_OPTIONS[qtype]))
            text = TEMPLATES[qtype].format(position=position, facing=facing, query=query)
            questions.append(Question(qtype, text, letter_of(options, answer), options))
            break
    for start, facing, waypoint, goal in attempts(4):
        try:
            correct = route_turns(scene, start, facing, waypoint, goal)
        except Unanswerable:
            continue
        combos = [f"{a}, {b}" for a in TURNS for b in TURNS if f"{a}, {b}" != correct]
        distractors = [combos[i] for i in rng.choice(len(combos), size=3, replace=False)]
        options, letter = shuffled_options(correct, distractors, rng)
        text = TEMPLATES[ROUTE_PLANNING].format(start=start, facing=facing, waypoint=waypoint, goal=goal)
        questions.append(Question(ROUTE_PLANNING, text, letter, options))
        break
    if visible is not None:
        present = sorted({obj.category for obj in scene.objects})
        for _ in range(30):
            if len(present) < 4:
                break
            choices = [present[i] for i in rng.choice(len(present), size=4, replace=False)]
            try:
                correct = appearance_order(scene, choices, visible, min_pixels)
            except Unanswerable:
                continue
            options, letter = shuffled_options(correct, _distractor_orders(correct.split(", "), rng), rng)
            questions.append(Question(APPEARANCE_ORDER, TEMPLATES[APPEARANCE_ORDER].format(choices=", ".join(choices)), letter, options))
            break
    return questions


def answer_vsi_question(
    scene: Scene, qtype: str, question: str, options: tuple[str, ...], visible: Mapping[int, Mapping[int, int]] | None, min_pixels: int
) -> str:
    match = PATTERNS[qtype].fullmatch(question)
    if match is None:
        raise Unanswerable(f"not a {qtype} question: {question!r}")
    fields = match.groupdict()
    try:
        if qtype == OBJECT_SIZE:
            return object_size_answer(scene, fields["category"])
        if qtype == ROOM_SIZE:
            return room_size_answer(scene)
        texts = option_texts(options)
        if qtype == REL_DISTANCE:
            choices = fields["choices"].split(", ")
            if texts != choices:
                raise Unanswerable(f"options {list(options)} are not the choices {choices}")
            return letter_of(options, closest_of(scene, fields["target"], choices))
        if qtype in DIRECTION_OPTIONS:
            if tuple(texts) != DIRECTION_OPTIONS[qtype]:
                raise Unanswerable(f"options {list(options)} are not {DIRECTION_OPTIONS[qtype]}")
            return letter_of(options, direction_of(scene, qtype, fields["position"], fields["facing"], fields["query"]))
        if qtype == ROUTE_PLANNING:
            return letter_of(options, route_turns(scene, fields["start"], fields["facing"], fields["waypoint"], fields["goal"]))
        if qtype == APPEARANCE_ORDER:
            if visible is None:
                raise Unanswerable("appearance order needs the frames' visibility")
            return letter_of(options, appearance_order(scene, fields["choices"].split(", "), visible, min_pixels))
    except ValueError as exc:
        if isinstance(exc, Unanswerable):
            raise
        raise Unanswerable(str(exc)) from exc
    raise Unanswerable(f"unknown question type {qtype!r}")
