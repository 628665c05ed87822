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


PixelBox = Field(
    min_length=4,
    max_length=4,
    description="Pixel box [x1, y1, x2, y2] of the object in that image (x right, y down, origin top-left; x2, y2 exclusive), e.g. from detect_objects.",
)


class DetectArgs(BaseModel):
    image: int = ImageIndex
    categories: list[str] = Field(
        min_length=1, max_length=8, description="Object categories to find, one per entry, e.g. ['chair', 'table']."
    )


def detect_objects(context: ToolContext, args: DetectArgs) -> dict[str, Any]:
    result = context.experts.detect(context.frame(args.image), args.categories)
    found = {category: [] for category in args.categories}
    for box, score, index in zip(result.boxes, result.scores, result.prompt_index):
        found[args.categories[int(index)]].append({"box_xyxy": [_r(v, 1) for v in box], "score": _r(score)})
    return {
        "image": args.image,
        "detections": [{"category": c, "count": len(boxes), "boxes": boxes} for c, boxes in found.items()],
    }


class OrientationArgs(BaseModel):
    image: int = ImageIndex
    box: list[float] = PixelBox


def estimate_orientation(context: ToolContext, args: OrientationArgs) -> dict[str, Any]:
    result = context.experts.orient(context.frame(args.image), args.box)
    return {
        "image": args.image,
        "box_xyxy": [_r(v, 1) for v in args.box],
        "azimuth_deg": _r(result.azimuth_deg, 1),
        "elevation_deg": _r(result.elevation_deg, 1),
        "rotation_deg": _r(result.rotation_deg, 1),
        "confidence": _r(result.confidence),
        "convention": "where the camera sees the object from: azimuth 0 = its front, 90 = its left side; elevation > 0 = from above",
    }


class SuperResolveArgs(BaseModel):
    image: int = ImageIndex
    box: list[float] = PixelBox


def super_resolve(context: ToolContext, args: SuperResolveArgs) -> dict[str, Any]:
    frame = context.frame(args.image)
    height, width = frame.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in args.box)
    if not (0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height):
        raise ToolError(f"box {args.box} is empty or outside image {args.image} of size {width}x{height}")
    result = context.experts.super_resolve(frame[y1:y2, x1:x2])
    enlarged = result.image.reshape(-1, 3)
    return {
        "image": args.image,
        "box_xyxy": [x1, y1, x2, y2],
        "scale": result.scale,
        "size_px": [int(result.image.shape[1]), int(result.image.shape[0])],
        "mean_rgb": [_r(v, 1) for v in enlarged.mean(axis=0)],
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
    Tool(
        "detect_objects",
        "Open-vocabulary detection in one image: for each category, the pixel boxes (x1, y1, x2, y2) and scores of every visible instance.",
        DetectArgs,
        detect_objects,
    ),
    Tool(
        "estimate_orientation",
        "Which way an object faces: azimuth, elevation and in-image rotation (degrees) of the view onto the object framed by a pixel box, with a confidence.",
        OrientationArgs,
        estimate_orientation,
    ),
    Tool(
        "super_resolve",
        "Enlarge the region of an image inside a pixel box (for small or distant objects); reports the enlarged size and mean colour.",
        SuperResolveArgs,
        super_resolve,
    ),
]
