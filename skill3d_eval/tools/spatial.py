"""Scene-level tools built from the experts: where objects are in 3D, how far apart they are.

They do the geometry an LLM does badly (fusing masks, depth and poses across views), so the
model only has to decide what to measure. The `program` policy calls the very same tools.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from skill3d_eval.tools.context import ToolContext
from skill3d_eval.tools.errors import ToolError
from skill3d_eval.tools.geometry import Box3D, back_project, gravity_alignment, group_detections, transform, upright_box
from skill3d_eval.tools.spec import Tool

Category = Field(min_length=1, max_length=80, description="Object category as named in the question, e.g. 'sofa'.")


def locate_instances(context: ToolContext, category: str) -> list[tuple[Box3D, list[int]]]:
    """Every distinct instance of `category` in the scene as an upright 3D box with the images that saw it."""
    cameras = context.cameras()
    to_gravity = gravity_alignment(cameras.poses_c2w)
    clouds: list[np.ndarray] = []
    seen_in: list[int] = []
    for index in range(context.frame_count):
        masks = context.segment(index, category).masks
        if len(masks) == 0:
            continue
        depth = context.depth(index)
        for mask in masks:
            points = back_project(depth.depth, mask, depth.intrinsics)
            if len(points):
                clouds.append(transform(points, cameras.poses_c2w[index]) @ to_gravity.T)
                seen_in.append(index)
    instances = []
    for group in group_detections(clouds):
        box = upright_box(np.concatenate([clouds[i] for i in group]))
        instances.append((box, sorted({seen_in[i] for i in group})))
    return instances


def _describe(box: Box3D, images: list[int]) -> dict[str, Any]:
    return {
        "center_m": [round(float(v), 3) for v in box.center],
        "size_m": [round(float(v), 3) for v in box.size],
        "seen_in_images": images,
    }


class LocateArgs(BaseModel):
    category: str = Category


def locate_objects(context: ToolContext, args: LocateArgs) -> dict[str, Any]:
    instances = locate_instances(context, args.category)
    return {
        "category": args.category,
        "count": len(instances),
        "frame": "gravity-aligned, origin at camera of image 0, z up, metres",
        "instances": [_describe(box, images) for box, images in instances],
    }


class DistanceArgs(BaseModel):
    object_a: str = Category
    object_b: str = Category


def measure_distance(context: ToolContext, args: DistanceArgs) -> dict[str, Any]:
    found = {}
    for name in (args.object_a, args.object_b):
        instances = locate_instances(context, name)
        if len(instances) != 1:
            raise ToolError(f"expected exactly one {name!r} in the scene to measure from, found {len(instances)}")
        found[name] = instances[0][0]
    a, b = found[args.object_a], found[args.object_b]
    return {
        "object_a": args.object_a,
        "object_b": args.object_b,
        "center_distance_m": round(float(np.linalg.norm(a.center - b.center)), 3),
        "center_a_m": [round(float(v), 3) for v in a.center],
        "center_b_m": [round(float(v), 3) for v in b.center],
    }


SPATIAL_TOOLS: list[Tool] = [
    Tool(
        "locate_objects",
        "Count and localise every instance of a category across all images: 3D centre and size (metres) of each distinct object.",
        LocateArgs,
        locate_objects,
    ),
    Tool(
        "measure_distance",
        "Distance in metres between the centres of two objects that each occur once in the scene.",
        DistanceArgs,
        measure_distance,
    ),
]
