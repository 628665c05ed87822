"""What each category looks like: the boxes (parts) an object of its bounding box is built from.

A chair is a seat on four legs with a back, a table a top on legs, a bed a mattress on a frame
with a headboard, so a detector or a segmenter sees the parts that make the category what it is,
and closest-point distances run between real surfaces (a chair's legs leave air under its seat).
Parts are fractions of the object's bounding box in its own frame: `u` across it, `v` from its
back (0) to its front (1, the side it faces), `z` up from the floor. Every part lies inside the
box and together they reach each of its six faces, so the box is exactly the parts' bounding box:
sizes, centres and footprints of the ground truth are unchanged by the shape.

An object faces one of the four horizontal axis directions (`FACINGS`); its box is axis-aligned,
so its `u` and `v` extents are its x and y extents or the other way round.
"""

from __future__ import annotations

import numpy as np

FACINGS = ("+x", "-x", "+y", "-y")
Part = tuple[float, float, float, float, float, float, float]  # u0, u1, v0, v1, z0, z1, brightness


def _legs(inset: float, width: float, top: float, brightness: float = 0.55) -> list[Part]:
    """Four legs at the corners, `width` wide (fractions of u and v), from the floor to `top`."""
    lo, hi = inset, 1 - inset - width
    return [(u, u + width, v, v + width, 0.0, top, brightness) for u in (lo, hi) for v in (lo, hi)]


SHAPES: dict[str, tuple[Part, ...]] = {
    "chair": (
        (0.0, 1.0, 0.0, 1.0, 0.46, 0.52, 1.0),  # seat
        (0.0, 1.0, 0.0, 0.1, 0.52, 1.0, 0.9),  # back
        *_legs(0.0, 0.1, 0.46),
    ),
    "table": ((0.0, 1.0, 0.0, 1.0, 0.95, 1.0, 1.0), *_legs(0.04, 0.06, 0.95)),
    "lamp": (
        (0.25, 0.75, 0.25, 0.75, 0.0, 0.03, 0.6),  # base
        (0.46, 0.54, 0.46, 0.54, 0.03, 0.75, 0.5),  # pole
        (0.0, 1.0, 0.0, 1.0, 0.75, 1.0, 1.0),  # shade
    ),
    "cabinet": (
        (0.0, 1.0, 0.0, 0.97, 0.06, 1.0, 1.0),  # body
        (0.04, 0.96, 0.04, 0.93, 0.0, 0.06, 0.5),  # plinth
        (0.44, 0.48, 0.97, 1.0, 0.55, 0.8, 0.4),  # door handles
        (0.52, 0.56, 0.97, 1.0, 0.55, 0.8, 0.4),
    ),
    "plant": (
        (0.3, 0.7, 0.3, 0.7, 0.0, 0.3, 0.55),  # pot
        (0.1, 0.9, 0.1, 0.9, 0.3, 0.7, 1.0),  # foliage
        (0.0, 1.0, 0.0, 1.0, 0.45, 0.6, 0.9),
        (0.25, 0.75, 0.25, 0.75, 0.7, 1.0, 0.95),
    ),
    "bookshelf": (
        (0.0, 0.05, 0.0, 1.0, 0.0, 1.0, 0.85),  # sides
        (0.95, 1.0, 0.0, 1.0, 0.0, 1.0, 0.85),
        (0.05, 0.95, 0.0, 0.06, 0.0, 1.0, 0.7),  # back panel
        *((0.05, 0.95, 0.06, 1.0, z, z + 0.03, 1.0) for z in (0.0, 0.32, 0.64, 0.97)),  # shelves
    ),
    "refrigerator": (
        (0.0, 1.0, 0.0, 0.96, 0.0, 1.0, 1.0),  # body
        (0.82, 0.87, 0.96, 1.0, 0.35, 0.8, 0.45),  # handle
    ),
    "sofa": (
        (0.0, 1.0, 0.0, 1.0, 0.0, 0.48, 1.0),  # base and seat
        (0.0, 1.0, 0.0, 0.25, 0.48, 1.0, 0.9),  # back
        (0.0, 0.1, 0.25, 1.0, 0.48, 0.7, 0.8),  # arms
        (0.9, 1.0, 0.25, 1.0, 0.48, 0.7, 0.8),
    ),
    "bed": (
        (0.0, 1.0, 0.0, 0.05, 0.0, 1.0, 0.75),  # headboard
        (0.03, 0.97, 0.05, 1.0, 0.0, 0.3, 0.6),  # frame
        (0.0, 1.0, 0.05, 1.0, 0.3, 0.55, 1.0),  # mattress
    ),
    "trash can": (
        (0.06, 0.94, 0.06, 0.94, 0.0, 0.9, 1.0),  # body
        (0.0, 1.0, 0.0, 1.0, 0.9, 1.0, 0.75),  # rim
    ),
}


def part_boxes(category: str, lo: np.ndarray, hi: np.ndarray, facing: str) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """World (lo, hi, brightness) of each part of an object of `category` with box [lo, hi]."""
    if facing not in FACINGS:
        raise ValueError(f"facing must be one of {FACINGS}, got {facing!r}")
    size = hi - lo
    v_axis, u_axis = (0, 1) if facing[1] == "x" else (1, 0)
    boxes = []
    for u0, u1, v0, v1, z0, z1, brightness in SHAPES[category]:
        if facing[0] == "-":
            v0, v1 = 1 - v1, 1 - v0
        frac_lo, frac_hi = np.empty(3), np.empty(3)
        frac_lo[u_axis], frac_hi[u_axis] = u0, u1
        frac_lo[v_axis], frac_hi[v_axis] = v0, v1
        frac_lo[2], frac_hi[2] = z0, z1
        boxes.append((lo + size * frac_lo, lo + size * frac_hi, brightness))
    return boxes
