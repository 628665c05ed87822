"""Directions on the floor plane, as VSI-Bench's relative-direction and route questions use them.

Someone standing at `origin` facing `towards` sees a point at a signed angle: positive to the
left (counter-clockwise seen from above, z up), negative to the right, ±180° behind. Questions
are only asked where the answer is clear: the angle must keep `MARGIN` degrees from every
boundary its question type uses, so a few centimetres of perception noise cannot flip it.
"""

from __future__ import annotations

import math

import numpy as np

MARGIN = 15.0  # degrees from any decision boundary
MIN_TURN = 30.0  # degrees: a smaller change of heading is not a turn
BACK_FROM = 135.0  # VSI-Bench: "behind" if one has to turn at least 135° to face it


class Ambiguous(ValueError):
    """The angle lies within MARGIN of a boundary: the question would have no clear answer."""


def signed_angle(origin, towards, point) -> float:
    """Degrees from the facing direction to the point, in (-180, 180], left positive."""
    forward = np.asarray(towards, dtype=np.float64)[:2] - np.asarray(origin, dtype=np.float64)[:2]
    vector = np.asarray(point, dtype=np.float64)[:2] - np.asarray(origin, dtype=np.float64)[:2]
    cross = forward[0] * vector[1] - forward[1] * vector[0]
    dot = float(forward @ vector)
    return math.degrees(math.atan2(cross, dot))


def _clear_of(angle: float, boundaries: tuple[float, ...]) -> None:
    for boundary in boundaries:
        if abs(abs(angle) - boundary) < MARGIN:
            raise Ambiguous(f"angle {angle:.1f}° is within {MARGIN}° of {boundary}°")


def left_or_right(angle: float) -> str:
    _clear_of(angle, (0.0, 180.0))
    return "left" if angle > 0 else "right"


def left_right_or_back(angle: float) -> str:
    _clear_of(angle, (0.0, BACK_FROM))
    if abs(angle) >= BACK_FROM:
        return "back"
    return "left" if angle > 0 else "right"


def quadrant(angle: float) -> str:
    _clear_of(angle, (0.0, 90.0, 180.0))
    side = "left" if angle > 0 else "right"
    return f"{'front' if abs(angle) < 90 else 'back'}-{side}"


def turn(angle: float) -> str:
    """Route planning's turn towards a direction: 'Turn Back' from 135°, else left or right;
    a direction within MIN_TURN of straight ahead needs no turn, so it is never asked."""
    _clear_of(angle, (BACK_FROM,))
    if abs(angle) < MIN_TURN:
        raise Ambiguous(f"angle {angle:.1f}° is nearly straight ahead")
    if abs(angle) >= BACK_FROM:
        return "Turn Back"
    return "Turn Left" if angle > 0 else "Turn Right"
