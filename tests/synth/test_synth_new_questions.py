"""The VSI-Bench types added in generator v0.2, on a hand-built scene with known answers."""

import numpy as np
import pytest

from skill3d_eval.synth import directions
from skill3d_eval.synth.options import vsi_options
from skill3d_eval.synth.questions import (
    UnanswerableQuestion,
    answer_question,
    make_questions,
)
from skill3d_eval.synth.scene import Room, Scene, SceneObject, closest_point_distance
from skill3d_eval.synth.vsi_questions import TEMPLATES

# Seen from above (x right, y up): the table in the middle, the lamp just north of it, the sofa
# to the east-north-east, the bed far south-west, two chairs (so 'chair' names no single object).
SCENE = Scene(
    name="hand",
    room=Room(6.0, 5.0, 2.8),
    objects=(
        SceneObject(1, "table", (2.0, 3.0, 0.375), (1.2, 0.8, 0.75)),
        SceneObject(2, "lamp", (2.0, 3.9, 0.8), (0.4, 0.4, 1.6)),
        SceneObject(3, "sofa", (5.0, 4.0, 0.4), (1.8, 0.9, 0.8)),
        SceneObject(4, "bed", (0.75, 2.01, 0.3), (1.0, 0.8, 0.6)),
        SceneObject(5, "chair", (4.0, 1.0, 0.45), (0.5, 0.5, 0.9)),
        SceneObject(6, "chair", (5.0, 1.0, 0.45), (0.5, 0.5, 0.9)),
    ),
    cameras=(),
    image_size=(96, 72),
)


def _ask(qtype, options=(), visible=None, **fields):
    return answer_question(SCENE, qtype, TEMPLATES[qtype].format(**fields), options, visible=visible)


def test_sizes_are_the_longest_side_in_cm_and_the_floor_area():
    assert _ask("object_size_estimation", category="sofa") == "180"
    assert _ask("room_size_estimation") == "30.00"
    with pytest.raises(UnanswerableQuestion, match="'chair' names 2 objects"):
        _ask("object_size_estimation", category="chair")


def test_relative_distance_uses_the_closest_points_of_the_objects():
    table, lamp = SCENE.objects[0], SCENE.objects[1]
    # The boxes are 0.3 m apart along y (3.4 -> 3.7), but the lamp's shade is 0.45 m above the
    # table top: the top's edge and the lamp's pole (y 3.884) are closest.
    assert closest_point_distance(table, lamp) == pytest.approx(3.884 - 3.4)
    # From the sofa (x 4.1..5.9, y 3.55..4.45): the table 1.507 m, the lamp 1.9 m, the bed further.
    assert closest_point_distance(SCENE.objects[2], table) == pytest.approx(np.hypot(1.5, 0.15))
    options = vsi_options(["lamp", "table", "bed"])
    assert _ask("object_rel_distance", options, choices="lamp, table, bed", target="sofa") == "B"
    with pytest.raises(UnanswerableQuestion, match="not the choices"):
        _ask("object_rel_distance", vsi_options(["table", "lamp", "bed"]), choices="lamp, table, bed", target="sofa")
    with pytest.raises(UnanswerableQuestion, match="near-equally close"):
        _ask("object_rel_distance", vsi_options(["lamp", "bed"]), choices="lamp, bed", target="table")


def test_relative_direction_at_each_level():
    # By the table facing the sofa (heading ~18° north of east), the lamp is 72° to the left.
    assert directions.signed_angle((2, 3), (5, 4), (2, 3.9)) == pytest.approx(71.57, abs=0.01)
    fields = {"position": "table", "facing": "sofa", "query": "lamp"}
    assert _ask("object_rel_direction_easy", vsi_options(["left", "right"]), **fields) == "A"
    assert _ask("object_rel_direction_medium", vsi_options(["left", "right", "back"]), **fields) == "A"
    hard = vsi_options(["front-left", "front-right", "back-left", "back-right"])
    assert _ask("object_rel_direction_hard", hard, **fields) == "A"
    # The bed is behind-right: -160°, so 'back' (>= 135°) and back-right.
    fields["query"] = "bed"
    assert _ask("object_rel_direction_medium", vsi_options(["left", "right", "back"]), **fields) == "C"
    assert _ask("object_rel_direction_hard", hard, **fields) == "D"


def test_route_planning_turns():
    # From the table facing the lamp (north): the sofa is to the right (-72°); walking on from
    # the table to the sofa (heading ENE), the bed lies behind (-173°: turn back).
    options = vsi_options(["Turn Left, Turn Back", "Turn Right, Turn Back", "Turn Right, Turn Left", "Turn Back, Turn Back"])
    answer = _ask("route_planning", options, start="table", facing="lamp", waypoint="sofa", goal="bed")
    assert answer == "B"


def test_appearance_order_needs_distinct_first_frames():
    visible = {0: {3: 500}, 1: {3: 500, 1: 40, 2: 10}, 2: {2: 200}, 3: {4: 31}}  # lamp: 10 px is not a sighting
    options = vsi_options(["sofa, table, lamp, bed", "table, sofa, lamp, bed", "sofa, lamp, table, bed", "bed, lamp, table, sofa"])
    assert _ask("obj_appearance_order", options, visible, choices="bed, lamp, sofa, table") == "A"
    tied = {0: {3: 500, 1: 500}, 1: {2: 40}, 2: {4: 40}}
    with pytest.raises(UnanswerableQuestion, match="distinct frames"):
        _ask("obj_appearance_order", options, tied, choices="bed, lamp, sofa, table")


def test_generated_questions_recompute_and_never_sit_near_a_boundary():
    visible = {f: {obj.instance_id: 100 for obj in SCENE.objects[: 2 + f]} for f in range(5)}
    for seed in range(20):
        for q in make_questions(SCENE, np.random.default_rng(seed), visible=visible):
            assert answer_question(SCENE, q.question_type, q.question, q.options, visible=visible) == q.ground_truth


@pytest.mark.parametrize(("angle", "decide"), [(10.0, directions.left_or_right), (140.0, directions.left_right_or_back), (95.0, directions.quadrant), (20.0, directions.turn)])
def test_directions_near_a_boundary_are_ambiguous(angle, decide):
    with pytest.raises(directions.Ambiguous):
        decide(angle)
