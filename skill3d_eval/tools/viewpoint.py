"""Tools that answer relative to a camera: how far objects are from it, which way it moved, and
where another camera or an object lies around it.

Single-image and image-pair benchmarks (CV-Bench 3D, BLINK multi-view, MMSI-Bench positional
relationships) ask about the camera that took a picture rather than about the room. The
geometry is the same as the scene-level tools' (`tools.spatial`): depth back-projected per
image, poses from multi-view reconstruction, gravity recovered from the cameras; these tools
only express the result in a camera's own frame, which an LLM gets wrong when it has to chain
poses and points by hand.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from skill3d_eval.experts import ReconstructionResult
from skill3d_eval.tools.context import ToolContext
from skill3d_eval.tools.errors import ToolError
from skill3d_eval.tools.geometry import back_project, gravity_alignment, masked_points, to_camera
from skill3d_eval.tools.perception import ImageIndex
from skill3d_eval.tools.pose_check import depth_checked_cameras
from skill3d_eval.tools.spatial import Geometry, GeometryField, object_anchors, quadrant, signed_angle
from skill3d_eval.tools.spec import Tool


def _r(value: float) -> float:
    return round(float(value), 3)


Poses = Literal["reconstruction", "depth_checked"]
# Alternatives a workflow chooses between (issue 15): which is right depends on the pair of views.
PosesField = Field(
    "reconstruction",
    description="Where the cameras' poses come from: 'reconstruction' = the multi-view reconstruction expert as it answers; "
    "'depth_checked' = the same, each camera's translation direction checked against the images' metric depth "
    "(two close views can come out with the second camera on the wrong side; needs the views to overlap).",
)


def _cameras(context: ToolContext, poses: Poses) -> ReconstructionResult:
    return depth_checked_cameras(context) if poses == "depth_checked" else context.cameras()


class ObjectDepthArgs(BaseModel):
    image: int = ImageIndex
    categories: list[str] = Field(min_length=1, max_length=8, description="Object categories to measure, e.g. the options' objects.")
    geometry: Geometry = GeometryField


def _camera_points(context: ToolContext, index: int, mask: np.ndarray, geometry: Geometry) -> np.ndarray:
    """The masked pixels as points in image `index`'s own camera frame, from its depth map or from the
    reconstruction's point map of it (moved out of the reconstruction's frame with that image's pose)."""
    if geometry == "depth":
        depth = context.depth(index)
        return back_project(depth.depth, mask, depth.intrinsics)
    return to_camera(masked_points(context.point_maps()[index], mask), context.cameras().poses_c2w[index])


def object_depths(context: ToolContext, args: ObjectDepthArgs) -> dict[str, Any]:
    """Depth along the camera's viewing direction (z), as "closer to the camera" compares it.

    A picture shows an object's near side only, so the visible surface's median depth says
    where that side is, not where the object is. Seen from above or at an angle, the visible
    points reach from the object's nearest corner to its far top edge, so the middle of their
    depth range is the depth of its centre; the nearest visible point is reported beside it. A
    category with several instances in the image stands for its most visible one."""
    centers: dict[str, float] = {}
    nearest: dict[str, float] = {}
    counts: dict[str, int] = {}
    for name in args.categories:
        masks = context.segment(args.image, name).masks
        cloud = _camera_points(context, args.image, max(masks, key=np.count_nonzero), args.geometry) if len(masks) else np.zeros((0, 3))
        if not len(cloud):
            raise ToolError(f"no {name!r} with valid depth in image {args.image}")
        z = cloud[:, 2]
        centers[name] = _r((z.min() + z.max()) / 2)
        nearest[name] = _r(z.min())
        counts[name] = len(masks)
    return {
        "image": args.image,
        "center_depth_m": centers,
        "nearest_depth_m": nearest,
        "instances_found": counts,
        "convention": "z-depth in metres along the viewing direction of the camera of that image",
    }


class MotionArgs(BaseModel):
    from_image: int = Field(0, ge=0, le=1023, description="0-based index of the image taken first.")
    to_image: int = Field(1, ge=0, le=1023, description="0-based index of the image taken later.")
    poses: Poses = PosesField


def camera_motion(context: ToolContext, args: MotionArgs) -> dict[str, Any]:
    """The later camera's position and heading in the first camera's own frame (x right, y down,
    z forward): sideways motion is its x, which is what "moving left or right" asks."""
    for index in (args.from_image, args.to_image):
        context.frame(index)  # a ToolError naming the valid range
    poses = _cameras(context, args.poses).poses_c2w.astype(np.float64)
    relative = np.linalg.inv(poses[args.from_image]) @ poses[args.to_image]
    right, down, forward = relative[:3, 3]
    heading = relative[:3, 2]
    return {
        "from_image": args.from_image,
        "to_image": args.to_image,
        "right_m": _r(right),
        "forward_m": _r(forward),
        "up_m": _r(-down),
        "turn_left_deg": round(float(np.degrees(np.arctan2(-heading[0], heading[2]))), 1),
        "direction": "left" if right < 0 else "right",
        "poses": args.poses,
        "convention": "in the frame of the camera of from_image: right_m > 0 moved to its right, turn_left_deg > 0 turned to its left",
    }


class QuadrantArgs(BaseModel):
    reference_image: int = Field(
        ge=0, le=1023, description="0-based index of the image whose camera's viewing direction is 'front'; that camera is where one stands unless standing_at names an object."
    )
    standing_at: str | None = Field(None, min_length=1, max_length=80, description="Object category to stand at instead of the reference camera, e.g. 'table'.")
    target_image: int | None = Field(None, ge=0, le=1023, description="Locate the camera of this image (give this or target_object).")
    target_object: str | None = Field(None, min_length=1, max_length=80, description="Locate this object category (give this or target_image).")
    poses: Poses = PosesField


def relative_quadrant(context: ToolContext, args: QuadrantArgs) -> dict[str, Any]:
    """On the floor plane (gravity from the cameras, as the object boxes use it): standing at the
    reference camera or at an object, facing the reference camera's viewing direction, the signed
    angle to the target and its quadrant. Objects are their most-seen instances' centres."""
    if (args.target_image is None) == (args.target_object is None):
        raise ToolError("name exactly one target: target_image (a camera) or target_object (an object category)")
    for index in (args.reference_image, args.target_image):
        if index is not None:
            context.frame(index)
    cameras = _cameras(context, args.poses)
    poses = cameras.poses_c2w.astype(np.float64)
    to_gravity = gravity_alignment(poses)
    names = tuple(dict.fromkeys(name for name in (args.standing_at, args.target_object) if name))
    with context.posed_by(cameras):  # the objects are placed with the same cameras as the viewpoint
        centers, counts = object_anchors(context, names) if names else ([], {})
    anchors = dict(zip(names, centers))

    def camera(index: int) -> np.ndarray:
        return to_gravity @ poses[index][:3, 3]

    origin = anchors[args.standing_at] if args.standing_at else camera(args.reference_image)
    target = anchors[args.target_object] if args.target_object else camera(args.target_image)  # type: ignore[arg-type]
    facing = to_gravity @ poses[args.reference_image][:3, 2]
    angle = signed_angle(origin, origin + facing, target)
    return {
        "origin": f"the {args.standing_at}" if args.standing_at else f"camera of image {args.reference_image}",
        "facing": f"viewing direction of the camera of image {args.reference_image}",
        "target": f"the {args.target_object}" if args.target_object else f"camera of image {args.target_image}",
        "angle_deg": round(angle, 1),
        "quadrant": quadrant(angle),
        "floor_distance_m": _r(np.linalg.norm((target - origin)[:2])),
        "instances_found": counts,
        "poses": args.poses,
        "convention": "on the floor plane; positive angles to the left; front = less than 90 degrees from the facing direction",
    }


VIEWPOINT_TOOLS: list[Tool] = [
    Tool(
        "object_depths",
        "How far each object is from the camera of one image (metres along its viewing direction): the depth of each "
        "object's centre (center_depth_m) and of its nearest visible point. Answers which object is closer to the camera.",
        ObjectDepthArgs,
        object_depths,
    ),
    Tool(
        "camera_motion",
        "How the camera moved between two images of a static scene, in the first camera's frame: metres to its right "
        "(negative: left), forward and up, the turn in degrees (left positive), and direction 'left' or 'right'.",
        MotionArgs,
        camera_motion,
    ),
    Tool(
        "relative_quadrant",
        "Where a camera or an object lies around a viewpoint: standing at the camera of reference_image (or at the object "
        "standing_at) and facing that camera's viewing direction, the signed floor-plane angle (left positive) to the "
        "target (the camera of target_image, or the object target_object) and its quadrant: front-left, front-right, "
        "back-left or back-right.",
        QuadrantArgs,
        relative_quadrant,
    ),
]
