import numpy as np

from skill3d_eval.tools.geometry import back_project, gravity_alignment, group_detections, transform, upright_box


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
