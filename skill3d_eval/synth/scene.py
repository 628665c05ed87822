"""Ground truth of one synthetic scene and its JSON form (`scenes/<name>.json`).

Conventions, shared with the oracle store: world frame z up, floor at z = 0, the room spans
x in [0, width], y in [0, depth]; cameras are OpenCV pinholes (x right, y down, z forward) and
`pose_c2w` maps camera to world coordinates. Pixel (row, col) is the ray through u = col,
v = row (pixel centres at integer coordinates), so back-projection is
`X_cam = ((u - cx) / fx * z, (v - cy) / fy * z, z)` with z the stored depth.

The JSON keeps full float precision, so answers recomputed from a loaded scene are bit-equal to
those computed at generation time.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skill3d_eval.synth.shapes import part_boxes


@dataclass(frozen=True)
class Room:
    """An axis-aligned box from the origin to (width, depth, height), in metres."""

    width: float
    depth: float
    height: float

    @property
    def lo(self) -> np.ndarray:
        return np.zeros(3)

    @property
    def hi(self) -> np.ndarray:
        return np.array([self.width, self.depth, self.height])


@dataclass(frozen=True)
class SceneObject:
    """An object standing on the floor, built of its category's parts (`shapes`) inside its
    axis-aligned bounding box; `center` and `size` are the box's, in world metres, and `facing`
    is the axis direction its front looks along (a chair's seat side, a bed's foot end)."""

    instance_id: int
    category: str
    center: tuple[float, float, float]
    size: tuple[float, float, float]
    facing: str = "+y"

    @property
    def parts(self) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """(lo, hi, brightness) of each part box, world metres."""
        return part_boxes(self.category, self.lo, self.hi, self.facing)

    @property
    def lo(self) -> np.ndarray:
        return np.asarray(self.center) - np.asarray(self.size) / 2

    @property
    def hi(self) -> np.ndarray:
        return np.asarray(self.center) + np.asarray(self.size) / 2


def box_distance(a_lo: np.ndarray, a_hi: np.ndarray, b_lo: np.ndarray, b_hi: np.ndarray) -> float:
    """Exact distance between the closest points of two axis-aligned boxes, 0 when they touch.

    Along each axis their intervals either overlap or leave a gap, and the closest points are
    apart by exactly those gaps: the distance is the norm of the per-axis gaps."""
    return float(np.linalg.norm(np.maximum(0.0, np.maximum(a_lo - b_hi, b_lo - a_hi))))


def closest_point_distance(a: SceneObject, b: SceneObject) -> float:
    """Exact distance between the closest points of two objects' surfaces: an object is a union
    of part boxes, so it is the smallest `box_distance` over pairs of parts."""
    return min(box_distance(a_lo, a_hi, b_lo, b_hi) for a_lo, a_hi, _ in a.parts for b_lo, b_hi, _ in b.parts)


@dataclass(frozen=True, eq=False)
class CameraView:
    """Pinhole intrinsics [3,3] and camera-to-world pose [4,4] of one frame."""

    intrinsics: np.ndarray
    pose_c2w: np.ndarray


@dataclass(frozen=True)
class Scene:
    """A room, its objects (instance ids 1..K) and the cameras of its frames, in frame order."""

    name: str
    room: Room
    objects: tuple[SceneObject, ...]
    cameras: tuple[CameraView, ...]
    image_size: tuple[int, int]  # (width, height) in pixels

    @property
    def labels(self) -> dict[int, str]:
        return {obj.instance_id: obj.category for obj in self.objects}

    def objects_of(self, category: str) -> list[SceneObject]:
        return [obj for obj in self.objects if obj.category == category]


def scene_to_dict(scene: Scene) -> dict:
    return {
        "name": scene.name,
        "room": {"width": scene.room.width, "depth": scene.room.depth, "height": scene.room.height},
        "image_size": {"width": scene.image_size[0], "height": scene.image_size[1]},
        "objects": [
            {
                "instance_id": obj.instance_id,
                "category": obj.category,
                "center": list(obj.center),
                "size": list(obj.size),
                "facing": obj.facing,
            }
            for obj in scene.objects
        ],
        "cameras": [
            {"intrinsics": camera.intrinsics.tolist(), "pose_c2w": camera.pose_c2w.tolist()} for camera in scene.cameras
        ],
    }


def scene_from_dict(data: dict) -> Scene:
    return Scene(
        name=data["name"],
        room=Room(**data["room"]),
        objects=tuple(
            SceneObject(
                instance_id=int(obj["instance_id"]),
                category=obj["category"],
                center=tuple(float(v) for v in obj["center"]),
                size=tuple(float(v) for v in obj["size"]),
                facing=obj["facing"],
            )
            for obj in data["objects"]
        ),
        cameras=tuple(
            CameraView(
                intrinsics=np.array(camera["intrinsics"], dtype=np.float64),
                pose_c2w=np.array(camera["pose_c2w"], dtype=np.float64),
            )
            for camera in data["cameras"]
        ),
        image_size=(int(data["image_size"]["width"]), int(data["image_size"]["height"])),
    )


def save_scene(scene: Scene, path: Path) -> None:
    """Write the scene's JSON atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(scene_to_dict(scene), handle, indent=1)
    os.replace(tmp, path)


def load_scene(path: str | os.PathLike) -> Scene:
    return scene_from_dict(json.loads(Path(path).read_text()))
