"""Pinhole cameras and the loop of viewpoints a scene is filmed from.

fx = fy = 0.8 * width (about 64° horizontal field of view, close to a phone's main camera, so
frames look like the indoor videos VSI-Bench is built from) and the principal point is the
image centre ((width - 1) / 2, (height - 1) / 2) with pixel centres at integer coordinates.

The viewpoints walk once around an ellipse inside the room at eye height, each looking across
the room (towards its centre, give or take 15°) with a slight downward pitch (8–20°), drifting
smoothly from one frame to the next so that the frames make a video (the VSI tasks' mp4): an
object near one wall is seen by the cameras on the far side, so together the frames see every
object from several directions.
"""

from __future__ import annotations

import numpy as np

from skill3d_eval.synth.scene import CameraView, Room

FOCAL_FACTOR = 0.8
EYE_HEIGHT = (1.4, 1.7)
PITCH_DOWN = (np.radians(8.0), np.radians(20.0))
YAW_JITTER = np.radians(15.0)  # around the direction to the room centre
LOOP_RADIUS = (0.45, 0.7)  # fraction of the room's half extents
ANGLE_JITTER = 0.15  # radians around evenly spaced positions on the loop, drifting smoothly


def intrinsics_for(width: int, height: int) -> np.ndarray:
    focal = FOCAL_FACTOR * width
    return np.array([[focal, 0.0, (width - 1) / 2], [0.0, focal, (height - 1) / 2], [0.0, 0.0, 1.0]])


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Camera-to-world pose of an OpenCV camera at `eye` looking at `target`, with no roll
    (image rows stay level with the floor); the view must not be vertical."""
    forward = np.asarray(target, dtype=np.float64) - np.asarray(eye, dtype=np.float64)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, down, forward, eye
    return pose


def back_project(depth: np.ndarray, camera: CameraView, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """World points [N,3] of pixels (rows, cols) given their z-depth (see `scene` conventions)."""
    intrinsics = camera.intrinsics
    z = depth[rows, cols].astype(np.float64)
    points = np.stack(
        [(cols - intrinsics[0, 2]) / intrinsics[0, 0] * z, (rows - intrinsics[1, 2]) / intrinsics[1, 1] * z, z], axis=-1
    )
    return points @ camera.pose_c2w[:3, :3].T + camera.pose_c2w[:3, 3]


def _wave(rng: np.random.Generator, low: float, high: float, t: np.ndarray) -> np.ndarray:
    """A value in [low, high] that drifts smoothly and periodically along the loop (t in [0, 1))."""
    cycles, phase = rng.integers(1, 3), rng.uniform(0, 2 * np.pi)
    return low + (high - low) * (0.5 + 0.5 * np.sin(2 * np.pi * cycles * t + phase))


def sample_camera_path(
    rng: np.random.Generator, room: Room, frames: int, width: int, height: int
) -> tuple[CameraView, ...]:
    """`frames` consecutive viewpoints of one walk around the loop: position, heading, pitch and
    eye height change smoothly from frame to frame, as in a hand-held video."""
    center = np.array([room.width / 2, room.depth / 2])
    half = center * rng.uniform(*LOOP_RADIUS, size=2)
    phase = rng.uniform(0, 2 * np.pi)
    t = np.arange(frames) / frames
    angles = phase + 2 * np.pi * t + _wave(rng, -ANGLE_JITTER, ANGLE_JITTER, t)
    yaws = angles + np.pi + _wave(rng, -YAW_JITTER, YAW_JITTER, t)
    pitches = _wave(rng, *PITCH_DOWN, t)
    heights = _wave(rng, *EYE_HEIGHT, t)
    intrinsics = intrinsics_for(width, height)
    views = []
    for angle, yaw, pitch, height_m in zip(angles, yaws, pitches, heights, strict=True):
        eye = np.array([*(center + half * np.array([np.cos(angle), np.sin(angle)])), height_m])
        forward = np.array([np.cos(pitch) * np.cos(yaw), np.cos(pitch) * np.sin(yaw), -np.sin(pitch)])
        views.append(CameraView(intrinsics=intrinsics.copy(), pose_c2w=look_at(eye, eye + forward)))
    return tuple(views)
