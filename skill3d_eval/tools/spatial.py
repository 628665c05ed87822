"""Scene-level tools built from the experts: where objects are in 3D, how far apart they are.

They do the geometry an LLM does badly (fusing masks, depth and poses across views), so the
model only has to decide what to measure. The `program` policy calls the very same tools.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from skill3d_eval.tools.context import ToolContext
from skill3d_eval.tools.errors import ToolError
from skill3d_eval.tools.geometry import (
    Box3D,
    DepthView,
    FreeSpace,
    back_project,
    cloud_gap,
    gravity_alignment,
    group_detections,
    masked_points,
    transform,
    upright_box,
)
from skill3d_eval.tools.spec import Tool

Category = Field(min_length=1, max_length=80, description="Object category as named in the question, e.g. 'sofa'.")

Geometry = Literal["depth", "reconstruction"]
Masks = Literal["text", "detection"]
# Alternatives a workflow chooses between: which is better depends on the scene (issue 15).
GeometryField = Field(
    "depth",
    description="Where 3D points come from: 'depth' = each image's metric depth placed with the reconstructed cameras; "
    "'reconstruction' = the multi-view reconstruction's joint point maps (one consistent cloud).",
)
MasksField = Field(
    "text",
    description="How objects are found in each image: 'text' = segmentation prompted with the category name; "
    "'detection' = the detector's boxes, each segmented by box prompt.",
)


def locate_instances(context: ToolContext, category: str, geometry: Geometry = "depth", masks: Masks = "text") -> list[tuple[Box3D, list[int]]]:
    """Every distinct instance of `category` in the scene as an upright 3D box with the images that saw it."""
    return [(box, images) for box, images, _ in locate_clouds(context, category, geometry, masks)]


def object_masks(context: ToolContext, index: int, category: str, masks: Masks) -> np.ndarray:
    """[K,H,W] masks of `category` in image `index`, found the way `masks` names."""
    if masks == "text":
        return context.segment(index, category).masks
    boxes = context.detect(index, [category]).boxes
    if len(boxes) == 0:
        return np.zeros((0, *context.frame(index).shape[:2]), dtype=bool)
    return context.segment_boxes(index, boxes).masks


def locate_clouds(context: ToolContext, category: str, geometry: Geometry = "depth", masks: Masks = "text") -> list[tuple[Box3D, list[int], np.ndarray]]:
    """As `locate_instances`, plus each instance's fused gravity-aligned point cloud.

    With per-image depth, each detection's points that another image saw through are dropped
    before fusing (`FreeSpace`, which keeps every point of exact depth), so every image's depth
    is asked for, not only that of the images showing the category. A detection that other
    images saw through entirely has wrong depth, wherever the object is, and is left out, unless
    that leaves no detection at all: segmentation did find the category, so the tool still
    answers. A reconstruction's point maps were estimated jointly, so its views already agree
    and nothing is carved."""
    cameras = context.cameras()
    to_gravity = gravity_alignment(cameras.poses_c2w)
    free_space: FreeSpace | None = None
    clouds: list[np.ndarray] = []
    seen_in: list[int] = []
    seen_through: list[tuple[np.ndarray, int]] = []
    for index in range(context.frame_count):
        found = object_masks(context, index, category, masks)
        if len(found) == 0:
            continue
        if geometry == "reconstruction":
            point_map = context.point_maps()[index]
            for mask in found:
                points = masked_points(point_map, mask)
                if len(points):
                    clouds.append(points @ to_gravity.T)
                    seen_in.append(index)
            continue
        if free_space is None:
            views = [context.depth(i) for i in range(context.frame_count)]
            free_space = FreeSpace([DepthView(view.depth, view.intrinsics, cameras.poses_c2w[i]) for i, view in enumerate(views)])
        depth = context.depth(index)
        for mask in found:
            points = back_project(depth.depth, mask, depth.intrinsics)
            if len(points):
                points = transform(points, cameras.poses_c2w[index])
                kept = ~free_space.contains(points)
                if not kept.any():
                    seen_through.append((points @ to_gravity.T, index))
                    continue
                clouds.append(points[kept] @ to_gravity.T)
                seen_in.append(index)
    if not clouds:
        clouds, seen_in = [cloud for cloud, _ in seen_through], [index for _, index in seen_through]
    instances = []
    for group in group_detections(clouds):
        cloud = np.concatenate([clouds[i] for i in group])
        instances.append((upright_box(cloud), sorted({seen_in[i] for i in group}), cloud))
    return instances


def scene_cloud(context: ToolContext, geometry: Geometry = "depth") -> np.ndarray:
    """All valid depth (or reconstructed points) of all images as one gravity-aligned cloud."""
    cameras = context.cameras()
    to_gravity = gravity_alignment(cameras.poses_c2w)
    if geometry == "reconstruction":
        points = context.point_maps().reshape(-1, 3)
        points = points[np.isfinite(points).all(axis=1)]
        if not len(points):
            raise ToolError("the reconstruction has no valid points")
        return points @ to_gravity.T
    clouds = []
    for index in range(context.frame_count):
        depth = context.depth(index)
        points = back_project(depth.depth, np.ones(depth.depth.shape, dtype=bool), depth.intrinsics)
        if len(points):
            clouds.append(transform(points, cameras.poses_c2w[index]) @ to_gravity.T)
    if not clouds:
        raise ToolError("no valid depth in any image")
    return np.concatenate(clouds)


def _rounded(vector: np.ndarray) -> list[float]:
    return [round(float(v), 3) for v in vector]


def _describe(box: Box3D, images: list[int]) -> dict[str, Any]:
    return {
        "center_m": _rounded(box.center),
        "size_m": _rounded(box.size),
        "seen_in_images": images,
    }


class LocateArgs(BaseModel):
    category: str = Category
    geometry: Geometry = GeometryField
    masks: Masks = MasksField


def locate_objects(context: ToolContext, args: LocateArgs) -> dict[str, Any]:
    instances = locate_instances(context, args.category, args.geometry, args.masks)
    return {
        "category": args.category,
        "count": len(instances),
        "frame": "gravity-aligned, origin at camera of image 0, z up, metres",
        "instances": [_describe(box, images) for box, images in instances],
    }


class DistanceArgs(BaseModel):
    object_a: str = Category
    object_b: str = Category
    geometry: Geometry = GeometryField
    masks: Masks = MasksField


def _instances(context: ToolContext, name: str, geometry: Geometry = "depth", masks: Masks = "text") -> list[tuple[Box3D, list[int], np.ndarray]]:
    found = locate_clouds(context, name, geometry, masks)
    if not found:
        raise ToolError(f"no {name!r} found in any image")
    return found


def measure_distance(context: ToolContext, args: DistanceArgs) -> dict[str, Any]:
    """VSI-Bench measures between the closest points of the two objects; the centres stay in the
    observation for a question that asks centre to centre. A named category with several
    instances is measured pair by pair and the closest pair answers, as in VSI-Bench's own rule
    for repeated categories: it is also the right answer when the views of one object failed to
    fuse into one instance, since the closest points of the fragments are the object's."""
    same = args.object_a.strip().lower() == args.object_b.strip().lower()
    found_a = _instances(context, args.object_a, args.geometry, args.masks)
    found_b = found_a if same else _instances(context, args.object_b, args.geometry, args.masks)
    pairs = sorted(
        (cloud_gap(cloud_a, cloud_b), i, j)
        for i, (_, _, cloud_a) in enumerate(found_a)
        for j, (_, _, cloud_b) in enumerate(found_b)
        if not same or i < j
    )
    if not pairs:
        raise ToolError(f"only one {args.object_a!r} found: no two to measure between")

    def center_distance(i: int, j: int) -> float:
        return round(float(np.linalg.norm(found_a[i][0].center - found_b[j][0].center)), 3)

    gap, i, j = pairs[0]
    result = {
        "object_a": args.object_a,
        "object_b": args.object_b,
        "closest_point_distance_m": round(gap, 3),
        "center_distance_m": center_distance(i, j),
        "center_a_m": _rounded(found_a[i][0].center),
        "center_b_m": _rounded(found_b[j][0].center),
        "instances_found": {args.object_a: len(found_a), args.object_b: len(found_b)},
    }
    if len(found_a) > 1 or len(found_b) > 1:
        result["pairs"] = [
            {"instance_a": i, "instance_b": j, "closest_point_distance_m": round(gap, 3), "center_distance_m": center_distance(i, j)}
            for gap, i, j in pairs
        ]
    return result


class RoomArgs(BaseModel):
    geometry: Geometry = GeometryField


def measure_room(context: ToolContext, args: RoomArgs) -> dict[str, Any]:
    """Every valid depth pixel of every image, fused in the gravity frame: indoor scans see the
    walls, so the minimum-area footprint rectangle of the fused cloud is the room's floor."""
    cloud = scene_cloud(context, args.geometry)
    box = upright_box(cloud)
    return {
        "floor_area_m2": round(float(box.size[0] * box.size[1]), 3),
        "extent_m": [round(float(v), 3) for v in box.size],
        "points": len(cloud),
        "frame": "gravity-aligned, origin at camera of image 0, z up, metres",
    }


class CompareArgs(BaseModel):
    reference: str = Category
    candidates: list[str] = Field(min_length=1, max_length=8, description="Object categories to compare, e.g. the options' objects.")
    geometry: Geometry = GeometryField
    masks: Masks = MasksField


def compare_distances(context: ToolContext, args: CompareArgs) -> dict[str, Any]:
    reference = locate_clouds(context, args.reference, args.geometry, args.masks)
    if not reference:
        raise ToolError(f"no {args.reference!r} found in any image")
    closest: dict[str, float] = {}
    centers: dict[str, float] = {}
    for name in args.candidates:
        found = locate_clouds(context, name, args.geometry, args.masks)
        if not found:
            raise ToolError(f"no {name!r} found in any image")
        closest[name] = round(min(cloud_gap(a, b) for _, _, a in reference for _, _, b in found), 3)
        centers[name] = round(min(float(np.linalg.norm(ra.center - rb.center)) for ra, _, _ in reference for rb, _, _ in found), 3)
    return {"reference": args.reference, "closest_point_distance_m": closest, "center_distance_m": centers}


class AppearanceArgs(BaseModel):
    categories: list[str] = Field(min_length=1, max_length=8, description="Object categories, e.g. the options' objects.")


def first_appearance(context: ToolContext, args: AppearanceArgs) -> dict[str, Any]:
    """Images are in video order, so the first image whose segmentation finds a category is its first appearance."""
    first: dict[str, int] = {}
    for name in args.categories:
        for index in range(context.frame_count):
            if len(context.segment(index, name)):
                first[name] = index
                break
        else:
            raise ToolError(f"{name!r} appears in none of the {context.frame_count} images")
    return {"first_image": first, "order": sorted(first, key=lambda name: first[name])}


def object_anchors(context: ToolContext, names: tuple[str, ...], geometry: Geometry = "depth", masks: Masks = "text") -> tuple[list[np.ndarray], dict[str, int]]:
    """The centre of each named object, and how many instances of each category were found.

    Direction questions name objects that occur once. When several instances turn up anyway (a
    repeated category, a spurious detection, views of one object that did not fuse), the one
    with the most fused points stands for the name: it is the object the images show most.
    """
    centers, counts = [], {}
    for name in names:
        found = _instances(context, name, geometry, masks)
        centers.append(max(found, key=lambda instance: len(instance[2]))[0].center)
        counts[name] = len(found)
    return centers, counts


def signed_angle(origin: np.ndarray, towards: np.ndarray, point: np.ndarray) -> float:
    """Degrees from the facing direction to the point on the floor plane, left positive (z up)."""
    forward, vector = towards[:2] - origin[:2], point[:2] - origin[:2]
    return float(np.degrees(np.arctan2(forward[0] * vector[1] - forward[1] * vector[0], forward @ vector)))


BACK_FROM_DEG = 135.0  # VSI-Bench: behind if one has to turn at least 135 degrees to face it


def _side(angle: float) -> str:
    return "left" if angle > 0 else "right"


def quadrant(angle: float) -> str:
    """front-left / front-right / back-left / back-right of a signed angle (left positive)."""
    return f"{'front' if abs(angle) < 90 else 'back'}-{_side(angle)}"


class DirectionArgs(BaseModel):
    position: str = Category
    facing: str = Category
    query: str = Category
    geometry: Geometry = GeometryField
    masks: Masks = MasksField


def relative_direction(context: ToolContext, args: DirectionArgs) -> dict[str, Any]:
    (position, facing, query), counts = object_anchors(context, (args.position, args.facing, args.query), args.geometry, args.masks)
    angle = signed_angle(position, facing, query)
    return {
        "angle_deg": round(angle, 1),
        "left_right": _side(angle),
        "left_right_back": "back" if abs(angle) >= BACK_FROM_DEG else _side(angle),
        "quadrant": quadrant(angle),
        "convention": "standing at position, facing the facing object; positive angles to the left",
        "instances_found": counts,
    }


class RouteArgs(BaseModel):
    start: str = Category
    facing: str = Category
    waypoint: str = Category
    goal: str = Category
    geometry: Geometry = GeometryField
    masks: Masks = MasksField


def _turn(angle: float) -> str:
    return "Turn Back" if abs(angle) >= BACK_FROM_DEG else f"Turn {_side(angle).title()}"


def plan_route(context: ToolContext, args: RouteArgs) -> dict[str, Any]:
    """Turn at the start towards the waypoint, walk there, turn towards the goal (heading = direction walked)."""
    (start, facing, waypoint, goal), counts = object_anchors(context, (args.start, args.facing, args.waypoint, args.goal), args.geometry, args.masks)
    first = signed_angle(start, facing, waypoint)
    second = signed_angle(waypoint, waypoint + (waypoint - start), goal)
    return {
        "first_turn_deg": round(first, 1),
        "second_turn_deg": round(second, 1),
        "turns": f"{_turn(first)}, {_turn(second)}",
        "instances_found": counts,
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
        "Distance in metres between two objects: between their closest points (closest_point_distance_m, what "
        "'measuring from the closest point of each object' asks) and between their centres (center_distance_m), "
        "with both centres. A category with several instances is measured pair by pair and the closest pair "
        "answers, pairs then lists every pair (instance numbers as in locate_objects); naming one category twice "
        "measures between its two closest instances.",
        DistanceArgs,
        measure_distance,
    ),
    Tool(
        "measure_room",
        "Floor area (square metres) and extent of the room, from depth of all images fused with the camera poses.",
        RoomArgs,
        measure_room,
    ),
    Tool(
        "compare_distances",
        "Distances in metres from a reference object to each candidate category: between closest points and between centres.",
        CompareArgs,
        compare_distances,
    ),
    Tool(
        "first_appearance",
        "The first image (video order) in which each category is visible, and the categories in order of first appearance.",
        AppearanceArgs,
        first_appearance,
    ),
    Tool(
        "relative_direction",
        "Where the query object is for someone standing at one object and facing another: signed angle (left positive) "
        "and left/right/back/quadrant labels, between object centres. A category with several instances stands for "
        "its most-seen instance; instances_found says how many there were.",
        DirectionArgs,
        relative_direction,
    ),
    Tool(
        "plan_route",
        "Turns of a route: from the start object facing another, turn towards the waypoint, walk there, turn towards "
        "the goal (Turn Left/Right/Back each). A category with several instances stands for its most-seen instance; "
        "instances_found says how many there were.",
        RouteArgs,
        plan_route,
    ),
]
