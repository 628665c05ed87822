"""A vectorised numpy ray caster for rooms of axis-aligned boxes.

Every pixel's ray is intersected with every object box at once (slab method) and with the room
box it starts inside; the nearest hit wins. Because rays are built as R @ ((u - cx)/fx,
(v - cy)/fy, 1), the ray parameter t of a hit *is* its z-depth in the camera frame, so depth
needs no conversion and back-projection with the intrinsics recovers the hit point exactly.

Colours are flat per category (or per room surface) times a factor per face orientation, so
the faces of a box are distinguishable without any lighting model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skill3d_eval.synth.catalogue import BY_NAME
from skill3d_eval.synth.scene import CameraView, Room, SceneObject

WALL_COLOUR = (200, 196, 188)
FLOOR_COLOUR = (128, 120, 110)
CEILING_COLOUR = (236, 236, 236)
# Brightness per face normal, indexed 2 * axis + (0 for +, 1 for -): +x, -x, +y, -y, +z, -z.
FACE_SHADE = np.array([0.88, 0.74, 0.81, 0.67, 1.0, 0.55])


@dataclass(frozen=True, eq=False)
class RenderedView:
    """One frame: RGB uint8 [H,W,3], z-depth float32 [H,W] metres, instance ids int32 [H,W]."""

    rgb: np.ndarray
    depth: np.ndarray
    instances: np.ndarray


def pixel_rays(camera: CameraView, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """World origin [3] and per-pixel world directions [H*W,3] scaled to unit camera z."""
    intrinsics = camera.intrinsics
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    directions = np.stack(
        [(u - intrinsics[0, 2]) / intrinsics[0, 0], (v - intrinsics[1, 2]) / intrinsics[1, 1], np.ones_like(u)],
        axis=-1,
    ).reshape(-1, 3)
    return camera.pose_c2w[:3, 3].copy(), directions @ camera.pose_c2w[:3, :3].T


def _slabs(
    origin: np.ndarray, inverse: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entry parameter, exit parameter and entry axis [P,K] of rays against boxes [K,3].

    A direction component of 0 gives ±inf (the ray is inside the slab forever or never).
    Axes are handled one at a time on [P,K] arrays: reducing over a trailing axis of 3 is
    several times slower in numpy than these elementwise passes."""
    enter = leave = axis = None
    for a in range(3):
        with np.errstate(invalid="ignore"):
            t_lo = (lo[None, :, a] - origin[a]) * inverse[:, a, None]
            t_hi = (hi[None, :, a] - origin[a]) * inverse[:, a, None]
        t_in, t_out = np.minimum(t_lo, t_hi), np.maximum(t_lo, t_hi)
        if enter is None:
            enter, leave, axis = t_in, t_out, np.zeros(t_in.shape, dtype=np.int64)
        else:
            later = t_in > enter
            enter = np.where(later, t_in, enter)
            axis = np.where(later, a, axis)
            leave = np.minimum(leave, t_out)
    return enter, leave, axis


def _exit_axis(origin: np.ndarray, inverse: np.ndarray, room: Room) -> tuple[np.ndarray, np.ndarray]:
    """Exit parameter and exit axis [P] of rays leaving the room box they start inside."""
    t_out = np.maximum((room.lo - origin) * inverse, (room.hi - origin) * inverse)
    axis = t_out.argmin(axis=-1)
    return t_out[np.arange(len(t_out)), axis], axis


def _face_index(axis: np.ndarray, direction_component: np.ndarray) -> np.ndarray:
    """FACE_SHADE index of the face a ray hits on `axis`: its normal opposes the ray."""
    return 2 * axis + (direction_component > 0)


def render_view(
    room: Room, objects: tuple[SceneObject, ...], camera: CameraView, width: int, height: int
) -> RenderedView:
    origin, directions = pixel_rays(camera, width, height)
    with np.errstate(divide="ignore"):
        inverse = 1.0 / directions
    rays = np.arange(len(directions))

    depth, exit_axis = _exit_axis(origin, inverse, room)
    exit_dir = directions[rays, exit_axis]
    colours = np.empty((len(directions), 3))
    colours[:] = WALL_COLOUR
    colours[(exit_axis == 2) & (exit_dir < 0)] = FLOOR_COLOUR
    colours[(exit_axis == 2) & (exit_dir > 0)] = CEILING_COLOUR
    face = _face_index(exit_axis, exit_dir)
    instances = np.zeros(len(directions), dtype=np.int32)

    if objects:
        lo = np.array([obj.lo for obj in objects])
        hi = np.array([obj.hi for obj in objects])
        t_near, t_far, near_axis = _slabs(origin, inverse, lo, hi)
        t_hit = np.where((t_near <= t_far) & (t_near > 0), t_near, np.inf)
        nearest = t_hit.argmin(axis=-1)
        t_nearest = t_hit[rays, nearest]
        hit = t_nearest < depth
        axis = near_axis[rays, nearest]
        depth = np.where(hit, t_nearest, depth)
        face = np.where(hit, _face_index(axis, directions[rays, axis]), face)
        object_colours = np.array([BY_NAME[obj.category].colour for obj in objects], dtype=np.float64)
        colours[hit] = object_colours[nearest[hit]]
        ids = np.array([obj.instance_id for obj in objects], dtype=np.int32)
        instances[hit] = ids[nearest[hit]]

    rgb = np.clip(np.rint(colours * FACE_SHADE[face][:, None]), 0, 255).astype(np.uint8)
    return RenderedView(
        rgb=rgb.reshape(height, width, 3),
        depth=depth.astype(np.float32).reshape(height, width),
        instances=instances.reshape(height, width),
    )


def visible_pixels(views: tuple[RenderedView, ...], instance_ids: list[int]) -> np.ndarray:
    """Pixel count of each instance in each view, [len(views), len(instance_ids)]."""
    minlength = max(instance_ids, default=0) + 1
    return np.array([np.bincount(view.instances.ravel(), minlength=minlength)[instance_ids] for view in views])
