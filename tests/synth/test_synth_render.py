"""The ray caster against geometry worked out by hand."""

import numpy as np
import pytest

from skill3d_eval.synth.camera import back_project, intrinsics_for, look_at
from skill3d_eval.synth.catalogue import CATEGORIES
from skill3d_eval.synth.render import CEILING_COLOUR, FLOOR_COLOUR, WALL_COLOUR, render_view
from skill3d_eval.synth.scene import CameraView, Room, SceneObject

ROOM = Room(6.0, 5.0, 2.8)
WIDTH, HEIGHT = 64, 48


def test_depth_of_a_face_seen_head_on_is_its_distance_along_the_optical_axis():
    # Camera at x = 1 looking along +x at the middle of a cabinet whose front face is x = 4.
    cabinet = SceneObject(1, "cabinet", (4.5, 2.5, 0.6), (1.0, 1.2, 1.2))
    eye = np.array([1.0, 2.5, 0.6])
    camera = CameraView(intrinsics_for(WIDTH, HEIGHT), look_at(eye, eye + [1.0, 0.0, 0.0]))
    view = render_view(ROOM, (cabinet,), camera, WIDTH, HEIGHT)

    mask = view.instances == 1
    # The face spans y in [1.9, 3.1] at distance 3, so the centre row crosses 1.2 / 3 * fx pixels.
    assert abs(mask[HEIGHT // 2].sum() - 1.2 / 3.0 * camera.intrinsics[0, 0]) <= 1
    np.testing.assert_allclose(view.depth[mask], 3.0, atol=1e-5)
    # Fifteen pixels right of the box the ray ends on the far wall x = 6, five metres ahead.
    assert not mask[HEIGHT // 2, WIDTH // 2 + 15]
    assert view.depth[HEIGHT // 2, WIDTH // 2 + 15] == pytest.approx(5.0, abs=1e-5)


def test_object_pixels_back_project_inside_their_box_from_an_oblique_camera():
    objects = (
        SceneObject(1, "sofa", (3.0, 3.5, 0.45), (2.0, 0.9, 0.9)),
        SceneObject(2, "lamp", (4.8, 1.2, 0.8), (0.4, 0.4, 1.6)),
    )
    eye = np.array([0.7, 0.6, 1.6])
    camera = CameraView(intrinsics_for(WIDTH, HEIGHT), look_at(eye, [3.5, 2.8, 0.6]))
    view = render_view(ROOM, objects, camera, WIDTH, HEIGHT)
    for obj in objects:
        rows, cols = np.nonzero(view.instances == obj.instance_id)
        assert len(rows) > 20
        points = back_project(view.depth, camera, rows, cols)
        assert np.all(points >= obj.lo - 1e-3) and np.all(points <= obj.hi + 1e-3)
    # Room pixels land on a wall, the floor or the ceiling.
    rows, cols = np.nonzero(view.instances == 0)
    points = back_project(view.depth, camera, rows, cols)
    on_surface = np.isclose(points, ROOM.lo, atol=1e-3) | np.isclose(points, ROOM.hi, atol=1e-3)
    assert np.all(on_surface.any(axis=1))


def test_faces_and_room_surfaces_are_told_apart_by_colour():
    table = SceneObject(1, "table", (3.0, 2.5, 0.37), (1.2, 0.8, 0.74))
    eye = np.array([1.0, 0.8, 1.6])
    camera = CameraView(intrinsics_for(WIDTH, HEIGHT), look_at(eye, table.center))
    view = render_view(ROOM, (table,), camera, WIDTH, HEIGHT)
    table_colours = {tuple(c) for c in view.rgb[view.instances == 1]}
    room_colours = {tuple(c) for c in view.rgb[view.instances == 0]}
    assert len(table_colours) == 3  # top and two sides, each shaded differently
    assert table_colours.isdisjoint(room_colours)
    assert len({c.colour for c in CATEGORIES}) == len(CATEGORIES)
    assert {WALL_COLOUR, FLOOR_COLOUR, CEILING_COLOUR}.isdisjoint(c.colour for c in CATEGORIES)


def test_nearer_object_occludes_farther_one():
    near = SceneObject(1, "chair", (2.5, 2.5, 0.5), (0.5, 0.5, 1.0))
    far = SceneObject(2, "refrigerator", (5.0, 2.5, 0.9), (0.7, 0.7, 1.8))
    eye = np.array([1.0, 2.5, 1.2])
    camera = CameraView(intrinsics_for(WIDTH, HEIGHT), look_at(eye, eye + [1.0, 0.0, 0.0]))
    both = render_view(ROOM, (near, far), camera, WIDTH, HEIGHT)
    fridge_alone = render_view(ROOM, (far,), camera, WIDTH, HEIGHT)
    hidden = (fridge_alone.instances == 2) & (both.instances == 1)
    assert hidden.any()
    assert np.all(both.depth[hidden] < fridge_alone.depth[hidden])
    # Above the chair the fridge is still seen, at its front face x = 4.65.
    assert both.instances[HEIGHT // 2, WIDTH // 2] == 2
    assert both.depth[HEIGHT // 2, WIDTH // 2] == pytest.approx(3.65, abs=1e-5)
