"""The object categories a synthetic room can contain.

Sizes are realistic ranges so that metric answers (distances, later sizes) are plausible for a
model that has priors about real furniture; what an object looks like inside its size is its
category's shape (`shapes`). Every category has its own hue, far from the grey room surfaces,
and shading, texture and lighting (`render`) only scale brightness: a pixel's hue alone tells
its category.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    """One kind of object. Sizes are (width, depth front to back, height) in metres before a
    random 90° yaw."""

    name: str
    size_min: tuple[float, float, float]
    size_max: tuple[float, float, float]
    colour: tuple[int, int, int]
    max_count: int


CATEGORIES: tuple[Category, ...] = (
    Category("chair", (0.42, 0.45, 0.78), (0.55, 0.60, 1.00), (215, 50, 45), 4),
    Category("table", (0.90, 0.60, 0.70), (1.80, 1.00, 0.78), (235, 135, 35), 2),
    Category("lamp", (0.30, 0.30, 1.40), (0.45, 0.45, 1.80), (235, 210, 40), 3),
    Category("cabinet", (0.50, 0.40, 0.80), (1.00, 0.60, 1.20), (150, 215, 55), 3),
    Category("plant", (0.30, 0.30, 0.50), (0.60, 0.60, 1.40), (45, 165, 65), 4),
    Category("bookshelf", (0.60, 0.28, 1.60), (1.20, 0.40, 2.00), (30, 170, 160), 2),
    Category("refrigerator", (0.60, 0.60, 1.70), (0.90, 0.80, 1.90), (80, 170, 235), 1),
    Category("sofa", (1.60, 0.80, 0.75), (2.30, 1.00, 0.95), (50, 85, 215), 2),
    Category("bed", (1.00, 1.90, 0.90), (1.90, 2.10, 1.20), (140, 70, 195), 2),
    Category("trash can", (0.25, 0.25, 0.35), (0.40, 0.40, 0.70), (220, 70, 170), 3),
)

BY_NAME: dict[str, Category] = {category.name: category for category in CATEGORIES}
