"""The ground truth of absolute distance: the exact distance between the closest points of two boxes."""

import itertools

import numpy as np
import pytest

from skill3d_eval.synth.scene import SceneObject, closest_point_distance


def box(center, size, instance_id=1):
    return SceneObject(instance_id, "box", tuple(center), tuple(size))


def test_touching_and_overlapping_boxes_are_zero_apart():
    a = box((0.0, 0.0, 0.5), (1.0, 1.0, 1.0))
    assert closest_point_distance(a, box((1.0, 0.0, 0.5), (1.0, 1.0, 1.0))) == 0.0  # faces touch
    assert closest_point_distance(a, box((1.0, 1.0, 0.5), (1.0, 1.0, 1.0))) == 0.0  # edges touch
    assert closest_point_distance(a, box((0.3, 0.2, 0.5), (1.0, 1.0, 1.0))) == 0.0  # overlap
    assert closest_point_distance(a, box((0.0, 0.0, 0.5), (0.2, 0.2, 0.2))) == 0.0  # one inside the other


def test_boxes_apart_along_one_axis_are_the_gap_between_facing_sides():
    a = box((0.0, 0.0, 0.5), (1.0, 2.0, 1.0))
    b = box((2.0, 0.4, 0.3), (1.0, 0.5, 0.6))  # x: 0.5 -> 1.5, y and z overlap
    assert closest_point_distance(a, b) == pytest.approx(1.0)
    assert closest_point_distance(b, a) == pytest.approx(1.0)
    stacked = box((0.0, 0.0, 1.5), (0.4, 0.4, 0.6))  # above a: z 1.0 -> 1.2
    assert closest_point_distance(a, stacked) == pytest.approx(0.2)


def test_diagonally_placed_boxes_are_corner_to_corner_or_edge_to_edge():
    a = box((0.0, 0.0, 0.5), (1.0, 1.0, 1.0))
    beside = box((2.5, 3.5, 0.5), (1.0, 1.0, 1.0))  # corner (0.5, 0.5) to corner (2, 3), same heights
    assert closest_point_distance(a, beside) == pytest.approx(np.hypot(1.5, 2.5))
    above = box((2.5, 3.5, 2.0), (1.0, 1.0, 1.0))  # and 0.5 m higher: the closest points are corners
    assert closest_point_distance(a, above) == pytest.approx(np.sqrt(1.5**2 + 2.5**2 + 0.5**2))


def test_a_turned_object_is_measured_with_its_swapped_extents():
    """The generator turns an object by 90 degrees by swapping its x and y extents."""
    sofa = box((0.0, 0.0, 0.4), (2.0, 0.9, 0.8))
    turned = box((0.0, 0.0, 0.4), (0.9, 2.0, 0.8))
    table = box((2.0, 0.0, 0.375), (1.0, 0.6, 0.75))  # x from 1.5
    assert closest_point_distance(sofa, table) == pytest.approx(0.5)  # sofa reaches x = 1.0
    assert closest_point_distance(turned, table) == pytest.approx(1.05)  # turned, only x = 0.45
    assert closest_point_distance(sofa, table) < float(np.linalg.norm(np.subtract(sofa.center, table.center)))


def test_it_is_the_minimum_over_points_of_both_boxes():
    """Against brute force on random boxes: no sampled pair of box points is closer, and the
    closest sampled pair comes within the sampling step."""
    rng = np.random.default_rng(0)
    grid = np.linspace(-0.5, 0.5, 11)
    unit = np.array(list(itertools.product(grid, grid, grid)))
    for _ in range(30):
        a = box(rng.uniform(-2, 2, 3), rng.uniform(0.2, 1.5, 3))
        b = box(rng.uniform(-2, 2, 3), rng.uniform(0.2, 1.5, 3))
        points_a = a.center + unit * a.size
        points_b = b.center + unit * b.size
        brute = np.sqrt(((points_a[:, None] - points_b[None]) ** 2).sum(axis=2).min())
        exact = closest_point_distance(a, b)
        step = np.linalg.norm(np.maximum(a.size, b.size) / 10)
        assert exact <= brute + 1e-12
        assert brute <= exact + step
