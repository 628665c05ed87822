"""The ground truth of absolute distance: the exact distance between the closest points of two
objects, each a union of its category's part boxes."""

import itertools

import numpy as np
import pytest

from skill3d_eval.synth.catalogue import CATEGORIES
from skill3d_eval.synth.scene import SceneObject, box_distance, closest_point_distance
from skill3d_eval.synth.shapes import FACINGS


def box(center, size):
    center, size = np.asarray(center, dtype=float), np.asarray(size, dtype=float)
    return center - size / 2, center + size / 2


def gap(a, b):
    return box_distance(*a, *b)


def test_touching_and_overlapping_boxes_are_zero_apart():
    a = box((0.0, 0.0, 0.5), (1.0, 1.0, 1.0))
    assert gap(a, box((1.0, 0.0, 0.5), (1.0, 1.0, 1.0))) == 0.0  # faces touch
    assert gap(a, box((1.0, 1.0, 0.5), (1.0, 1.0, 1.0))) == 0.0  # edges touch
    assert gap(a, box((0.3, 0.2, 0.5), (1.0, 1.0, 1.0))) == 0.0  # overlap
    assert gap(a, box((0.0, 0.0, 0.5), (0.2, 0.2, 0.2))) == 0.0  # one inside the other


def test_boxes_apart_along_one_axis_are_the_gap_between_facing_sides():
    a = box((0.0, 0.0, 0.5), (1.0, 2.0, 1.0))
    b = box((2.0, 0.4, 0.3), (1.0, 0.5, 0.6))  # x: 0.5 -> 1.5, y and z overlap
    assert gap(a, b) == pytest.approx(1.0)
    assert gap(b, a) == pytest.approx(1.0)
    stacked = box((0.0, 0.0, 1.5), (0.4, 0.4, 0.6))  # above a: z 1.0 -> 1.2
    assert gap(a, stacked) == pytest.approx(0.2)


def test_diagonally_placed_boxes_are_corner_to_corner_or_edge_to_edge():
    a = box((0.0, 0.0, 0.5), (1.0, 1.0, 1.0))
    beside = box((2.5, 3.5, 0.5), (1.0, 1.0, 1.0))  # corner (0.5, 0.5) to corner (2, 3), same heights
    assert gap(a, beside) == pytest.approx(np.hypot(1.5, 2.5))
    above = box((2.5, 3.5, 2.0), (1.0, 1.0, 1.0))  # and 0.5 m higher: the closest points are corners
    assert gap(a, above) == pytest.approx(np.sqrt(1.5**2 + 2.5**2 + 0.5**2))


def test_box_distance_is_the_minimum_over_points_of_both_boxes():
    """Against brute force on random boxes: no sampled pair of box points is closer, and the
    closest sampled pair comes within the sampling step."""
    rng = np.random.default_rng(0)
    grid = np.linspace(-0.5, 0.5, 11)
    unit = np.array(list(itertools.product(grid, grid, grid)))
    for _ in range(30):
        centres, sizes = rng.uniform(-2, 2, (2, 3)), rng.uniform(0.2, 1.5, (2, 3))
        points_a, points_b = centres[0] + unit * sizes[0], centres[1] + unit * sizes[1]
        brute = np.sqrt(((points_a[:, None] - points_b[None]) ** 2).sum(axis=2).min())
        exact = gap(box(centres[0], sizes[0]), box(centres[1], sizes[1]))
        step = np.linalg.norm(np.maximum(sizes[0], sizes[1]) / 10)
        assert exact <= brute + 1e-12
        assert brute <= exact + step


@pytest.mark.parametrize("facing", FACINGS)
def test_every_shape_fills_out_exactly_its_bounding_box(facing):
    """Sizes, centres and footprints of the ground truth stay those of the box: the parts lie
    inside it and reach each of its faces."""
    for category in CATEGORIES:
        obj = SceneObject(1, category.name, (2.0, 3.0, 0.6), (0.9, 0.5, 1.2), facing)
        lows = np.array([lo for lo, _, _ in obj.parts])
        highs = np.array([hi for _, hi, _ in obj.parts])
        assert np.all(lows >= obj.lo - 1e-12) and np.all(highs <= obj.hi + 1e-12), category.name
        np.testing.assert_allclose(lows.min(axis=0), obj.lo, atol=1e-12, err_msg=category.name)
        np.testing.assert_allclose(highs.max(axis=0), obj.hi, atol=1e-12, err_msg=category.name)


def test_a_chair_faces_where_its_facing_says():
    """The back is at the side opposite its facing: a chair facing +x has its back at low x."""
    for facing, axis, back_at_low in (("+x", 0, True), ("-x", 0, False), ("+y", 1, True), ("-y", 1, False)):
        chair = SceneObject(1, "chair", (1.0, 1.0, 0.45), (0.5, 0.5, 0.9), facing)
        back = max(chair.parts, key=lambda part: part[1][2] - part[0][2] if part[0][2] > 0.3 else 0)
        assert (back[0][axis] == pytest.approx(chair.lo[axis])) == back_at_low
        assert (back[1][axis] == pytest.approx(chair.hi[axis])) == (not back_at_low)


def test_a_tables_legs_not_its_overhanging_top_are_closest_to_a_low_object():
    """Boxes would say 0.2 m (the top's edge); the real closest points are a corner leg's edge
    and the bin's rim, 0.24 m along x and 0.25 m along y apart: the shape changes the answer."""
    table = SceneObject(1, "table", (0.5, 0.5, 0.375), (1.0, 1.0, 0.75))  # legs at x, y 0.04..0.10 and 0.90..0.96
    bin_ = SceneObject(2, "trash can", (1.35, 0.5, 0.15), (0.3, 0.3, 0.3))  # x 1.2..1.5, y 0.35..0.65, top 0.3 m
    assert gap((table.lo, table.hi), (bin_.lo, bin_.hi)) == pytest.approx(0.2)
    # The top (z from 0.7125) is 0.2 m away along x but 0.41 m above the bin: 0.46 m.
    assert closest_point_distance(table, bin_) == pytest.approx(np.hypot(1.2 - 0.96, 0.35 - 0.10))
    assert closest_point_distance(bin_, table) == closest_point_distance(table, bin_)


def test_object_distance_is_the_minimum_over_points_of_their_parts():
    rng = np.random.default_rng(1)
    names = [category.name for category in CATEGORIES]
    for _ in range(20):
        a, b = (
            SceneObject(i, str(rng.choice(names)), tuple(rng.uniform([0, 0, 0.5], [3, 3, 0.5])), tuple(rng.uniform(0.4, 1.5, 3)), str(rng.choice(FACINGS)))
            for i in (1, 2)
        )
        exact = closest_point_distance(a, b)
        assert exact >= gap((a.lo, a.hi), (b.lo, b.hi)) - 1e-12  # never closer than the boxes
        grid = np.linspace(0, 1, 6)
        samples = [lo + (hi - lo) * np.array(p) for obj in (a,) for lo, hi, _ in obj.parts for p in itertools.product(grid, grid, grid)]
        others = [lo + (hi - lo) * np.array(p) for obj in (b,) for lo, hi, _ in obj.parts for p in itertools.product(grid, grid, grid)]
        brute = np.sqrt(((np.array(samples)[:, None] - np.array(others)[None]) ** 2).sum(axis=2).min())
        assert exact <= brute + 1e-12
