"""The ray caster against geometry worked out by hand."""

import numpy as np
import pytest

from skill3d_eval.synth.camera import back_project, intrinsics_for, look_at
from skill3d_eval.synth.catalogue import BY_NAME, CATEGORIES
from skill3d_eval.synth.render import CEILING_COLOUR, FLOOR_COLOUR, WALL_COLOUR, render_view
from skill3d_eval.synth.scene import CameraView, Room, SceneObject

ROOM = Room(6.0, 5.0, 2.8)
WIDTH, HEIGHT = 64, 48


def test_depth_of_a_face_seen_head_on_is_its_distance_along_the_optical_axis():
    # Camera at x = 1 looking along +x at the middle of a cabinet whose flat back is x = 4.
    cabinet = SceneObject(1, "cabinet", (4.5, 2.5, 0.6), (1.0, 1.2, 1.2), facing="+x")
    eye = np.array([1.0, 2.5, 0.6])
    camera = CameraView(intrinsics_for(WIDTH, HEIGHT), look_at(eye, eye + [1.0, 0.0, 0.0]))
    view = render_view(ROOM, (cabinet,), camera, WIDTH, HEIGHT)

    mask = view.instances == 1
    # The face spans y in [1.9, 3.1] at distance 3, so the centre row crosses 1.2 / 3 * fx pixels.
    assert abs(mask[HEIGHT // 2].sum() - 1.2 / 3.0 * camera.intrinsics[0, 0]) <= 1
    np.testing.assert_allclose(view.depth[HEIGHT // 2][mask[HEIGHT // 2]], 3.0, atol=1e-5)  # the body; its plinth is set back
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


def test_shading_texture_and_light_change_brightness_never_hue():
    """Every object pixel is its category's colour times one brightness (up to rounding), so hue
    alone still tells the category; the faces, parts and texture make many brightnesses."""
    table = SceneObject(1, "table", (3.0, 2.5, 0.37), (1.2, 0.8, 0.74))
    eye = np.array([1.0, 0.8, 1.6])
    camera = CameraView(intrinsics_for(WIDTH, HEIGHT), look_at(eye, table.center))
    view = render_view(ROOM, (table,), camera, WIDTH, HEIGHT)
    pixels = view.rgb[view.instances == 1].astype(float)
    colour = np.array(BY_NAME["table"].colour, dtype=float)
    brightness = pixels / colour
    assert np.all(brightness.max(axis=1) - brightness.min(axis=1) <= 1.0 / colour.min() + 1e-9)
    assert len(np.unique(np.round(brightness.mean(axis=1), 3))) > 10
    table_colours = {tuple(c) for c in view.rgb[view.instances == 1]}
    room_colours = {tuple(c) for c in view.rgb[view.instances == 0]}
    assert table_colours.isdisjoint(room_colours)
    assert len({c.colour for c in CATEGORIES}) == len(CATEGORIES)
    assert {WALL_COLOUR, FLOOR_COLOUR, CEILING_COLOUR}.isdisjoint(c.colour for c in CATEGORIES)


def test_nearer_object_occludes_farther_one():
    near = SceneObject(1, "chair", (2.5, 2.5, 0.5), (0.5, 0.5, 1.0), facing="-x")  # its back across the view
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


def test_searching_only_each_objects_screen_rectangle_renders_what_searching_every_pixel_does(monkeypatch):
    """The culling must be conservative: sampled rooms, including cameras close to a box."""
    from skill3d_eval.synth import render
    from skill3d_eval.synth.generate import scene_rng
    from skill3d_eval.synth.sampling import SceneParams, sample_scene

    params = SceneParams(frames=6, width=96, height=72)
    scenes = [sample_scene(f"s{i}", scene_rng(11, i), params) for i in range(4)]
    monkeypatch.setattr(render, "_screen_rect", lambda lo, hi, camera, width, height: (slice(0, height), slice(0, width)))
    for rendered in scenes:
        scene = rendered.scene
        for culled, camera in zip(rendered.views, scene.cameras, strict=True):
            everywhere = render.render_view(scene.room, scene.objects, camera, *scene.image_size)
            assert np.array_equal(culled.rgb, everywhere.rgb) and np.array_equal(culled.instances, everywhere.instances)
            assert np.array_equal(culled.depth, everywhere.depth)
