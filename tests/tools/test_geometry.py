import numpy as np
import pytest

from skill3d_eval.tools.geometry import (
    back_project,
    cloud_gap,
    gravity_alignment,
    group_detections,
    transform,
    upright_box,
)


def rotation_z(degrees):
    a = np.deg2rad(degrees)
    return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])


def camera_pose(yaw_deg, pitch_deg, position):
    """OpenCV camera looking horizontally along world +x at yaw 0, pitched down, no roll."""
    base = np.array([[0, 0, 1], [-1, 0, 0], [0, -1, 0]], float)  # columns: cam x, y, z in world
    pitch = np.deg2rad(pitch_deg)
    tilt = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
    pose = np.eye(4)
    pose[:3, :3] = rotation_z(yaw_deg) @ base @ tilt.T
    pose[:3, 3] = position
    return pose


def test_back_project_inverts_the_pinhole_model():
    k = np.array([[100.0, 0, 50], [0, 100.0, 40], [0, 0, 1]])
    depth = np.full((80, 100), 2.0)
    mask = np.zeros((80, 100), bool)
    mask[40, 70] = True
    np.testing.assert_allclose(back_project(depth, mask, k), [[0.4, 0.0, 2.0]])


def test_gravity_is_recovered_from_level_cameras_in_first_camera_coordinates():
    poses = [camera_pose(yaw, 12, [yaw / 90, 0.3, 1.5]) for yaw in (0, 70, 150, 230)]
    relative = np.stack([np.linalg.inv(poses[0]) @ p for p in poses])
    to_gravity = gravity_alignment(relative)
    up_in_first_camera = np.linalg.inv(poses[0])[:3, :3] @ np.array([0, 0, 1.0])
    np.testing.assert_allclose(to_gravity[2], up_in_first_camera, atol=1e-9)


def test_upright_box_of_two_visible_faces_of_a_rotated_box():
    rng = np.random.default_rng(0)
    size = np.array([1.2, 0.6, 0.8])
    front = np.stack([rng.uniform(-0.6, 0.6, 500), np.full(500, -0.3), rng.uniform(-0.4, 0.4, 500)], 1)
    side = np.stack([np.full(500, 0.6), rng.uniform(-0.3, 0.3, 500), rng.uniform(-0.4, 0.4, 500)], 1)
    top = np.stack([rng.uniform(-0.6, 0.6, 500), rng.uniform(-0.3, 0.3, 500), np.full(500, 0.4)], 1)
    corners = np.array([[x, y, z] for x in (-0.6, 0.6) for y in (-0.3, 0.3) for z in (-0.4, 0.4)])
    points = np.concatenate([front, side, top, corners]) @ rotation_z(33).T + [2.0, -1.0, 0.4]
    box = upright_box(points)
    np.testing.assert_allclose(box.center, [2.0, -1.0, 0.4], atol=5e-3)
    np.testing.assert_allclose(sorted(box.size), sorted(size), atol=5e-3)


def test_detections_of_one_object_group_and_separate_objects_do_not():
    a_view1 = np.array([[0, 0, 0], [0.5, 0, 0]], float)
    a_view2 = np.array([[0.5, 0.05, 0], [0.5, 0.5, 0]], float)
    b = np.array([[2.0, 2.0, 0], [2.5, 2.0, 0]], float)
    groups = sorted(sorted(g) for g in group_detections([a_view1, b, a_view2]))
    assert groups == [[0, 2], [1]]


def test_transform_applies_rotation_then_translation():
    pose = np.eye(4)
    pose[:3, :3] = rotation_z(90)
    pose[:3, 3] = [1, 2, 3]
    np.testing.assert_allclose(transform(np.array([[1.0, 0, 0]]), pose), [[1, 3, 3]], atol=1e-12)


def box_surface(size, yaw_deg, center, step=0.01):
    """Points on the side faces of an upright box, `step` apart, as a depth scan would give them."""
    half = np.asarray(size) / 2
    faces = []
    for axis in (0, 1):
        other = 1 - axis
        u = np.arange(-half[other], half[other] + 1e-9, step)
        z = np.arange(-half[2], half[2] + 1e-9, step)
        uu, zz = (g.ravel() for g in np.meshgrid(u, z))
        for sign in (-1, 1):
            face = np.zeros((len(uu), 3))
            face[:, axis], face[:, other], face[:, 2] = sign * half[axis], uu, zz
            faces.append(face)
    return np.concatenate(faces) @ rotation_z(yaw_deg).T + center


def test_cloud_gap_finds_the_closest_points_of_dense_clouds_of_rotated_boxes():
    """Clouds of tens of thousands of points, far more than the thinned search sees, in no
    spatial order (fused views interleave an object's points)."""
    rng = np.random.default_rng(0)
    wall = rng.permutation(box_surface((1.0, 2.0, 0.8), 0, [0.0, 0.0, 0.4]))  # face at x = 0.5
    turned = rng.permutation(box_surface((0.6, 0.6, 0.8), 45, [0.8 + np.sqrt(0.18), 0.13, 0.4]))  # edge at x = 0.8
    assert len(wall) > 30_000
    assert 0.3 - 1e-9 <= cloud_gap(wall, turned) < 0.3 + 0.005
    assert cloud_gap(wall, turned) == cloud_gap(turned, wall)

    # Both turned, edge towards edge, one hanging 0.2 m higher: only one pair of corners is closest.
    low = rng.permutation(box_surface((1.0, 1.0, 0.8), 45, [0.0, 0.0, 0.4]))
    high = rng.permutation(box_surface((0.6, 0.6, 0.8), 45, [np.sqrt(0.5) + 0.3 + np.sqrt(0.18), 0.0, 1.4]))
    gap = cloud_gap(low, high)
    assert gap == pytest.approx(np.hypot(0.3, 0.2), abs=1e-9)
    thin = [cloud[np.linspace(0, len(cloud) - 1, 600).astype(int)] for cloud in (low, high)]
    assert np.sqrt(((thin[0][:, None] - thin[1][None]) ** 2).sum(axis=2).min()) > gap + 0.01, "thinning alone misses them"


def test_cloud_gap_is_zero_for_touching_clouds_and_the_point_distance_for_single_points():
    a = box_surface((1.0, 1.0, 1.0), 0, [0.0, 0.0, 0.5], step=0.05)
    b = box_surface((1.0, 1.0, 1.0), 0, [1.0, 0.0, 0.5], step=0.05)  # shares the face x = 0.5
    assert cloud_gap(a, b) == pytest.approx(0.0, abs=1e-9)
    assert cloud_gap(np.array([[0.0, 0, 0]]), np.array([[3.0, 4.0, 0]])) == 5.0
