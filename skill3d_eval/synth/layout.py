"""Sampling what a room contains and where it stands.

Three steps, each a function of a numpy Generator so a scene is reproducible from its seed:
an inventory (which categories, how many of each, what sizes), a room big enough for it, and
a placement that keeps the clearances the questions rely on (objects never touch, so counting
is unambiguous and no two objects' closest points are under OBJECT_GAP apart) and keeps the
floor free where the cameras stand.
Lengths are rounded to millimetres so scene files stay readable; every check runs on the
rounded values, so the stored truth is exactly what was validated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skill3d_eval.synth.catalogue import BY_NAME, CATEGORIES
from skill3d_eval.synth.scene import Room, SceneObject

OBJECT_GAP = 0.3  # metres between the footprints of any two objects
WALL_GAP = 0.2  # metres between an object and a wall
CAMERA_CLEARANCE = 0.6  # metres between a camera position and any object footprint
ROOM_SIDE = (3.0, 8.0)
ROOM_HEIGHT = (2.5, 3.0)
ROOM_AREA_FACTOR = 3.0  # floor area per unit of gap-padded object footprint
PLACEMENT_TRIES = 200
MIN_SINGLES = 2


@dataclass(frozen=True)
class ObjectSpec:
    """An object chosen for the room but not placed yet; size is (x, y, z) after its yaw, and
    `facing` the direction its front looks along after that yaw."""

    category: str
    size: tuple[float, float, float]
    facing: str


def _round_mm(value: float) -> float:
    return round(float(value), 3)


def sample_inventory(rng: np.random.Generator, min_objects: int, max_objects: int) -> list[ObjectSpec]:
    """One or two categories repeat (2..max_count times) for counting; the rest appear once,
    which is what distance questions need (a category named once refers to one object), so
    at least MIN_SINGLES categories are kept single."""
    total = int(rng.integers(min_objects, max_objects + 1))
    order = [CATEGORIES[i] for i in rng.permutation(len(CATEGORIES))]
    repeatable = [category for category in order if category.max_count >= 2]
    counts: dict[str, int] = {}
    for category in repeatable[: int(rng.integers(1, 3))]:
        most = min(category.max_count, total - sum(counts.values()) - MIN_SINGLES)
        if most < 2:
            break
        counts[category.name] = int(rng.integers(2, most + 1))
    singles = [category for category in order if category.name not in counts]
    for category in singles[: total - sum(counts.values())]:
        counts[category.name] = 1
    specs = []
    for name, count in counts.items():
        category = BY_NAME[name]
        for _ in range(count):
            size = [_round_mm(rng.uniform(lo, hi)) for lo, hi in zip(category.size_min, category.size_max, strict=True)]
            turned = rng.random() < 0.5
            if turned:
                size[0], size[1] = size[1], size[0]
            facing = ("-" if rng.random() < 0.5 else "+") + ("x" if turned else "y")
            specs.append(ObjectSpec(name, (size[0], size[1], size[2]), facing))
    return specs


def sample_room(rng: np.random.Generator, inventory: list[ObjectSpec], tries: int = 100) -> Room | None:
    """A room whose floor area leaves space to walk; None when the inventory cannot fit."""
    padded = sum((spec.size[0] + OBJECT_GAP) * (spec.size[1] + OBJECT_GAP) for spec in inventory)
    longest = max(max(spec.size[0], spec.size[1]) for spec in inventory) + 2 * WALL_GAP
    for _ in range(tries):
        width, depth = (_round_mm(rng.uniform(*ROOM_SIDE)) for _ in range(2))
        if width * depth >= ROOM_AREA_FACTOR * padded and min(width, depth) >= longest:
            return Room(width, depth, _round_mm(rng.uniform(*ROOM_HEIGHT)))
    return None


def _separated(a_center: np.ndarray, a_size: np.ndarray, b_center: np.ndarray, b_size: np.ndarray, gap: float) -> bool:
    """Footprints at least `gap` apart along x or along y (stronger than a Euclidean gap)."""
    reach = (a_size[:2] + b_size[:2]) / 2 + gap
    return bool(np.any(np.abs(a_center[:2] - b_center[:2]) >= reach))


def place_objects(
    rng: np.random.Generator, room: Room, inventory: list[ObjectSpec], keep_out: np.ndarray
) -> tuple[SceneObject, ...] | None:
    """Rejection-sample floor positions, largest objects first (they are hardest to fit).

    `keep_out` holds (x, y) camera positions that no footprint may come near. Instance ids
    follow placement order, starting at 1 (0 is the background in instance maps).
    """
    order = sorted(inventory, key=lambda spec: -spec.size[0] * spec.size[1])
    placed: list[SceneObject] = []
    for spec in order:
        size = np.asarray(spec.size)
        for _ in range(PLACEMENT_TRIES):
            xy = [
                _round_mm(rng.uniform(WALL_GAP + half, extent - WALL_GAP - half))
                for half, extent in ((size[0] / 2, room.width), (size[1] / 2, room.depth))
            ]
            center = np.array([xy[0], xy[1], size[2] / 2])
            if all(
                _separated(center, size, np.asarray(o.center), np.asarray(o.size), OBJECT_GAP) for o in placed
            ) and all(
                _separated(center, size, np.array([x, y, 0.0]), np.zeros(3), CAMERA_CLEARANCE) for x, y in keep_out
            ):
                placed.append(
                    SceneObject(len(placed) + 1, spec.category, (xy[0], xy[1], spec.size[2] / 2), spec.size, spec.facing)
                )
                break
        else:
            return None
    return tuple(placed)
