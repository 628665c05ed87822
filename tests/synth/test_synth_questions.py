"""Question templates and answers on a hand-built scene."""

import numpy as np
import pytest

from skill3d_eval.synth.questions import (
    OBJECT_ABS_DISTANCE,
    OBJECT_COUNTING,
    UnanswerableQuestion,
    answer_question,
    make_questions,
)
from skill3d_eval.synth.scene import Room, Scene, SceneObject

DISTANCE = (
    "Measuring from the closest point of each object, what is the direct distance between the {a} and the {b} "
    "(in meters)?"
)
SCENE = Scene(
    name="hand",
    room=Room(6.0, 5.0, 2.8),
    objects=(
        SceneObject(1, "chair", (1.0, 1.0, 0.45), (0.5, 0.5, 0.9)),
        SceneObject(2, "chair", (2.0, 1.0, 0.45), (0.5, 0.5, 0.9)),
        SceneObject(3, "chair", (3.0, 1.0, 0.45), (0.5, 0.5, 0.9)),
        SceneObject(4, "table", (2.0, 3.0, 0.375), (1.2, 0.8, 0.75)),
        SceneObject(5, "sofa", (5.0, 4.0, 0.4), (1.8, 0.9, 0.8)),
        SceneObject(6, "lamp", (2.0, 3.9, 0.8), (0.4, 0.4, 1.6)),  # 0.3 m from the table's edge
    ),
    cameras=(),
    image_size=(96, 72),
)


def test_counting_asks_about_present_categories_and_prefers_repeated_ones():
    questions = [q for q in make_questions(SCENE, np.random.default_rng(0)) if q.question_type == OBJECT_COUNTING]
    assert len(questions) == 3
    assert questions[0].question == "How many chair(s) are in this room?"
    assert questions[0].ground_truth == "3"
    assert all(q.ground_truth == "1" for q in questions[1:])
    assert all(q.options == () for q in questions)


def test_distance_pairs_single_objects_whose_closest_points_are_half_a_metre_apart():
    questions = [q for q in make_questions(SCENE, np.random.default_rng(0)) if q.question_type == OBJECT_ABS_DISTANCE]
    pairs = {
        frozenset(("table", "sofa")),
        frozenset(("lamp", "sofa")),
    }  # not chair (3 of them), not lamp-table (0.3 m)
    asked = set()
    for q in questions:
        assert q.question.startswith("Measuring from the closest point of each object, what is the direct distance")
        names = frozenset(name for name in ("table", "sofa", "lamp", "chair") if f"the {name} " in q.question)
        asked.add(names)
    assert asked == pairs
    # Table x 1.4..2.6, y 2.6..3.4; sofa x 4.1..5.9, y 3.55..4.45: 1.5 m along x, 0.15 m along y
    # (the centres are 3.16 m apart).
    table_sofa = next(q for q in questions if "table" in q.question)
    assert table_sofa.ground_truth == f"{np.hypot(1.5, 0.15):.2f}" == "1.51"


def test_answers_are_recomputed_from_question_text():
    for q in make_questions(SCENE, np.random.default_rng(1)):
        assert answer_question(SCENE, q.question_type, q.question, q.options) == q.ground_truth


@pytest.mark.parametrize(
    ("question_type", "question"),
    [
        (OBJECT_COUNTING, "How many bed(s) are in this room?"),
        (OBJECT_ABS_DISTANCE, DISTANCE.format(a="chair", b="sofa")),  # three chairs
        (OBJECT_ABS_DISTANCE, DISTANCE.format(a="lamp", b="table")),  # closest points 0.3 m apart
        (OBJECT_COUNTING, "How many chairs are there?"),
    ],
)
def test_questions_the_scene_does_not_determine_are_rejected(question_type, question):
    with pytest.raises(UnanswerableQuestion):
        answer_question(SCENE, question_type, question)
