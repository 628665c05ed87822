"""Question templates (VSI-Bench wording) and their answers from a scene's ground truth.

Answers are defined once here, as functions of a `Scene`, and the same functions are used to
write the dataset and to re-check it (`consistency`), so the two cannot drift apart. Each
template has a parser, so an answer can be recomputed from the question text alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from skill3d_eval.synth.question_record import Question, UnanswerableQuestion
from skill3d_eval.synth.scene import Scene, closest_point_distance
from skill3d_eval.synth.vsi_questions import (
    NEW_TYPES,
    answer_vsi_question,
    make_vsi_questions,
    the_only,
)

OBJECT_COUNTING = "object_counting"
OBJECT_ABS_DISTANCE = "object_abs_distance"
FIRST_TYPES = (OBJECT_COUNTING, OBJECT_ABS_DISTANCE)  # generator v0.1's types; rows list them first
QUESTION_TYPES = FIRST_TYPES + NEW_TYPES
MIN_VISIBLE_PIXELS = 30

# Metres between closest points: the answer has centimetre precision, so its rounding alone
# would cost a closer pair more than 1% relative error.
MIN_PAIR_DISTANCE = 0.5

_COUNTING = "How many {category}(s) are in this room?"
_DISTANCE = (
    "Measuring from the closest point of each object, what is the direct distance between "
    "the {a} and the {b} (in meters)?"
)
_COUNTING_RE = re.compile(r"How many (?P<category>.+?)\(s\) are in this room\?")
_DISTANCE_RE = re.compile(
    r"Measuring from the closest point of each object, what is the direct distance between "
    r"the (?P<a>.+?) and the (?P<b>.+?) \(in meters\)\?"
)


__all__ = ["QUESTION_TYPES", "Question", "UnanswerableQuestion", "answer_question", "make_questions"]


def count_answer(scene: Scene, category: str) -> str:
    return str(len(scene.objects_of(category)))


def pair_distance(scene: Scene, a: str, b: str) -> float:
    """VSI-Bench's absolute distance: between the closest points of the only `a` and the only `b`."""
    return closest_point_distance(the_only(scene, a), the_only(scene, b))


def distance_answer(scene: Scene, a: str, b: str) -> str:
    return f"{pair_distance(scene, a, b):.2f}"


def make_questions(
    scene: Scene,
    rng: np.random.Generator,
    max_counting: int = 3,
    max_distance: int = 4,
    *,
    visible: Mapping[int, Mapping[int, int]] | None = None,
    min_pixels: int = MIN_VISIBLE_PIXELS,
) -> list[Question]:
    """Counting questions favour repeated categories (an answer of 1 every time would teach
    nothing); distance questions pair categories that occur exactly once (VSI-Bench names
    unique objects) and whose closest points are at least MIN_PAIR_DISTANCE apart, in random
    order. The other VSI-Bench types follow (drawn after these, so adding them left counting
    and distance unchanged); appearance order needs `visible`, the pixels of each instance
    per frame index."""
    counts: dict[str, int] = {}
    for obj in scene.objects:
        counts[obj.category] = counts.get(obj.category, 0) + 1
    present = sorted(counts)
    repeated = [present[i] for i in rng.permutation(len(present)) if counts[present[i]] > 1]
    singles = [present[i] for i in rng.permutation(len(present)) if counts[present[i]] == 1]
    questions = [
        Question(OBJECT_COUNTING, _COUNTING.format(category=category), count_answer(scene, category))
        for category in (repeated + singles)[:max_counting]
    ]
    pairs = [
        (a, b)
        for i, a in enumerate(singles)
        for b in singles[i + 1 :]
        if pair_distance(scene, a, b) >= MIN_PAIR_DISTANCE
    ]
    for index in rng.permutation(len(pairs))[:max_distance]:
        a, b = pairs[index]
        if rng.random() < 0.5:
            a, b = b, a
        questions.append(Question(OBJECT_ABS_DISTANCE, _DISTANCE.format(a=a, b=b), distance_answer(scene, a, b)))
    return questions + make_vsi_questions(scene, rng, visible, min_pixels)


def answer_question(
    scene: Scene,
    question_type: str,
    question: str,
    options: tuple[str, ...] | list[str] = (),
    *,
    visible: Mapping[int, Mapping[int, int]] | None = None,
    min_pixels: int = MIN_VISIBLE_PIXELS,
) -> str:
    """Recompute the ground truth of a question from the scene (and, for appearance order, the
    per-frame visibility); multiple-choice answers are the letter of the right option."""
    if question_type in NEW_TYPES:
        return answer_vsi_question(scene, question_type, question, tuple(options), visible, min_pixels)
    if question_type == OBJECT_COUNTING and (match := _COUNTING_RE.fullmatch(question)):
        if not scene.objects_of(match["category"]):
            raise UnanswerableQuestion(f"{scene.name}: no '{match['category']}' in the scene: {question!r}")
        return count_answer(scene, match["category"])
    if question_type == OBJECT_ABS_DISTANCE and (match := _DISTANCE_RE.fullmatch(question)):
        if pair_distance(scene, match["a"], match["b"]) < MIN_PAIR_DISTANCE:
            raise UnanswerableQuestion(f"{scene.name}: pair closer than {MIN_PAIR_DISTANCE} m: {question!r}")
        return distance_answer(scene, match["a"], match["b"])
    raise UnanswerableQuestion(f"not a {question_type} question: {question!r}")
