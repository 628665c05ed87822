"""Tools that expose one expert each, returning numbers the model can reason with, and
(`observation_images`) the pictures behind those numbers: overlays, a depth colour map, the
enlarged crop, a novel view."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from skill3d_eval.tools.context import ToolContext
from skill3d_eval.tools.errors import ToolError
from skill3d_eval.tools.spec import Tool
from skill3d_eval.tools.visuals import DEPTH_COLORMAP, Visual, box_overlay, depth_colormap

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


def depth_evidence(context: ToolContext, args: DepthArgs, content: dict[str, Any]) -> list[Visual]:
    summary = content["depth_m"]
    if summary is None:
        return []
    near, far = summary["min"], summary["max"]
    caption = f"depth of image {args.image} as a {DEPTH_COLORMAP} colour map: dark blue = {near} m (nearest) through green to dark red = {far} m (farthest); black = no depth"
    return [Visual("depth_colormap", caption, depth_colormap(context.depth(args.image).depth, near, far))]


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


def segment_evidence(context: ToolContext, args: SegmentArgs, content: dict[str, Any]) -> list[Visual]:
    result = context.segment(args.image, args.prompt)
    if not len(result):
        return []
    pixels = box_overlay(context.frame(args.image), result.boxes, [str(i) for i in range(len(result))], result.masks)
    caption = f"image {args.image} with the {len(result)} '{args.prompt}' instance(s) found: masks tinted, boxes numbered as the instances list"
    return [Visual("overlay", caption, pixels)]


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
    result = context.detect(args.image, args.categories)
    found = {category: [] for category in args.categories}
    for box, score, index in zip(result.boxes, result.scores, result.prompt_index):
        found[args.categories[int(index)]].append({"box_xyxy": [_r(v, 1) for v in box], "score": _r(score)})
    return {
        "image": args.image,
        "detections": [{"category": c, "count": len(boxes), "boxes": boxes} for c, boxes in found.items()],
    }


def detect_evidence(context: ToolContext, args: DetectArgs, content: dict[str, Any]) -> list[Visual]:
    boxes = [(f"{d['category']} {k}", box["box_xyxy"]) for d in content["detections"] for k, box in enumerate(d["boxes"])]
    if not boxes:
        return []
    pixels = box_overlay(context.frame(args.image), [box for _, box in boxes], [label for label, _ in boxes])
    caption = f"image {args.image} with the detected boxes, labelled 'category k' (the k-th box of that category in the JSON)"
    return [Visual("overlay", caption, pixels)]


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
    result = context.super_resolve(args.image, (x1, y1, x2, y2))
    enlarged = result.image.reshape(-1, 3)
    return {
        "image": args.image,
        "box_xyxy": [x1, y1, x2, y2],
        "scale": result.scale,
        "size_px": [int(result.image.shape[1]), int(result.image.shape[0])],
        "mean_rgb": [_r(v, 1) for v in enlarged.mean(axis=0)],
    }


def super_resolve_evidence(context: ToolContext, args: SuperResolveArgs, content: dict[str, Any]) -> list[Visual]:
    """The restored crop itself: what super-resolution is for."""
    result = context.super_resolve(args.image, tuple(content["box_xyxy"]))
    width, height = content["size_px"]
    caption = f"box {content['box_xyxy']} of image {args.image}, enlarged {result.scale}x to {width}x{height}"
    return [Visual("super_resolution", caption, result.image)]


class NovelViewArgs(BaseModel):
    azimuth_deg: float = Field(ge=-180, le=180, description="Orbit about the scene's centre, degrees; positive moves the camera to its right.")
    elevation_deg: float = Field(0.0, ge=-90, le=90, description="Degrees; positive raises the camera, looking down.")


def render_view(context: ToolContext, args: NovelViewArgs) -> dict[str, Any]:
    result = context.novel_view(args.azimuth_deg, args.elevation_deg)
    return {
        "azimuth_deg": args.azimuth_deg,
        "elevation_deg": args.elevation_deg,
        "frame": "camera of image 0 (x right, y down, z forward), metres",
        "camera": {"position_m": [_r(v) for v in result.pose_c2w[:3, 3]], "forward": [_r(v) for v in result.pose_c2w[:3, 2]]},
        "size_px": [int(result.image.shape[1]), int(result.image.shape[0])],
        "covered_fraction": _r(result.image.any(axis=2).mean()),
    }


def render_view_evidence(context: ToolContext, args: NovelViewArgs, content: dict[str, Any]) -> list[Visual]:
    result = context.novel_view(args.azimuth_deg, args.elevation_deg)
    caption = f"the scene seen from image 0's camera orbited by azimuth {args.azimuth_deg} and elevation {args.elevation_deg} degrees; black = nothing reconstructed there"
    return [Visual("novel_view", caption, result.image)]


PERCEPTION_TOOLS: list[Tool] = [
    Tool(
        "estimate_depth",
        "Metric depth of one image (metres) with camera intrinsics; optionally the depth and camera-frame 3D position at given pixels.",
        DepthArgs,
        estimate_depth,
        depth_evidence,
    ),
    Tool(
        "segment_objects",
        "Find all instances of an object category in one image: pixel boxes (x1, y1, x2, y2), scores and mask areas.",
        SegmentArgs,
        segment_objects,
        segment_evidence,
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
        detect_evidence,
    ),
    Tool(
        "estimate_orientation",
        "Which way an object faces: azimuth, elevation and in-image rotation (degrees) of the view onto the object framed by a pixel box, with a confidence.",
        OrientationArgs,
        estimate_orientation,
    ),
    Tool(
        "super_resolve",
        "Enlarge the region of an image inside a pixel box (for small or distant objects); reports the enlarged size and mean colour (and shows the enlarged region when images are enabled).",
        SuperResolveArgs,
        super_resolve,
        super_resolve_evidence,
    ),
]

# Offered only with `observation_images`: without the picture, a novel view says little.
VIEW_TOOLS: list[Tool] = [
    Tool(
        "render_view",
        "Render the scene from a virtual camera: image 0's camera orbited about the scene's centre by an azimuth and an elevation (degrees). Returns the virtual camera's pose; the rendered view is attached as an image.",
        NovelViewArgs,
        render_view,
        render_view_evidence,
    ),
]
