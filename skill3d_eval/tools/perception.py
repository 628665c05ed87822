"""Tools that expose one expert each, returning numbers the model can reason with."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from skill3d_eval.tools.context import ToolContext
from skill3d_eval.tools.errors import ToolError
from skill3d_eval.tools.spec import Tool

ImageIndex = Field(ge=0, le=1023, description="0-based index of the image in the order the images were given")


def _r(value: float, digits: int = 3) -> float:
    return round(float(value), digits)


class DepthArgs(BaseModel):
    image: int = ImageIndex
    points: list[list[float]] = Field(
        default_factory=list,
        max_length=64,
        description="Optional pixel coordinates [[x, y], ...] (x right, y down, origin top-left) at which to report depth and 3D position.",
    )


def estimate_depth(context: ToolContext, args: DepthArgs) -> dict[str, Any]:
    frame = context.frame(args.image)
    result = context.depth(args.image)
    height, width = frame.shape[:2]
    k = result.intrinsics
    points = []
    for point in args.points:
        if len(point) != 2:
            raise ToolError(f"each point must be [x, y], got {point}")
        x, y = point
        if not (0 <= x < width and 0 <= y < height):
            raise ToolError(f"point [{x}, {y}] lies outside image {args.image} of size {width}x{height}")
        z = float(result.depth[int(y), int(x)])
        xyz = [(x - k[0, 2]) * z / k[0, 0], (y - k[1, 2]) * z / k[1, 1], z]
        points.append({"pixel": [x, y], "depth_m": _r(z), "xyz_camera_m": [_r(v) for v in xyz]})
    valid = result.depth[np.isfinite(result.depth) & (result.depth > 0)]
    return {
        "image": args.image,
        "size_px": [width, height],
        "intrinsics": {"fx": _r(k[0, 0], 2), "fy": _r(k[1, 1], 2), "cx": _r(k[0, 2], 2), "cy": _r(k[1, 2], 2)},
        "depth_m": {"min": _r(valid.min()), "median": _r(np.median(valid)), "max": _r(valid.max())} if valid.size else None,
        "points": points,
    }


class SegmentArgs(BaseModel):
    image: int = ImageIndex
    prompt: str = Field(min_length=1, max_length=80, description="Object category to find, e.g. 'chair'.")


def segment_objects(context: ToolContext, args: SegmentArgs) -> dict[str, Any]:
    result = context.segment(args.image, args.prompt)
    instances = [
        {"box_xyxy": [_r(v, 1) for v in box], "score": _r(score), "area_px": int(mask.sum())}
        for box, score, mask in zip(result.boxes, result.scores, result.masks)
    ]
    return {"image": args.image, "prompt": args.prompt, "count": len(instances), "instances": instances}


class ReconstructArgs(BaseModel):
    pass


def reconstruct_cameras(context: ToolContext, args: ReconstructArgs) -> dict[str, Any]:
    poses = context.cameras().poses_c2w
    return {
        "frame": "camera of image 0 (x right, y down, z forward), metres",
        "cameras": [
            {"image": i, "position_m": [_r(v) for v in pose[:3, 3]], "forward": [_r(v) for v in pose[:3, 2]]}
            for i, pose in enumerate(poses)
        ],
    }


PERCEPTION_TOOLS: list[Tool] = [
    Tool(
        "estimate_depth",
        "Metric depth of one image (metres) with camera intrinsics; optionally the depth and camera-frame 3D position at given pixels.",
        DepthArgs,
        estimate_depth,
    ),
    Tool(
        "segment_objects",
        "Find all instances of an object category in one image: pixel boxes (x1, y1, x2, y2), scores and mask areas.",
        SegmentArgs,
        segment_objects,
    ),
    Tool(
        "reconstruct_cameras",
        "Camera positions and viewing directions of all images from multi-view reconstruction, relative to image 0, in metres.",
        ReconstructArgs,
        reconstruct_cameras,
    ),
]
