"""Evidence rules for the frame questions: CV-Bench 3D (`Depth`, `Distance`), BLINK
`Multi-view_Reasoning` and MMSI-Bench's camera/object positional relationships.

Like the VSI-Bench rules, each returns the calls whose results imply the chosen option. Frame
questions are about one or two images, so besides the scene tools a rule reads the
camera-relative tools' results (`tools/viewpoint.py`, when called with the question's roles)
and image-level evidence: an object's depth or 3D position is the median of the
`estimate_depth` samples taken inside a box that `detect_objects` / `segment_objects` found for
it in the same image.
Camera-frame offsets are put on the floor plane as the first camera's x (right) and z
(forward), which assumes a level camera, as hand-held and robot scans are.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence

from skill3d_eval.metrics.readings import (
    Measured,
    Question,
    Rule,
    ToolResult,
    cameras,
    floor_quadrant,
    number,
    object_name,
    object_samples,
    pair_distances,
    sampled_images,
    single_centres,
    unique_least,
)

_NAME = r"[^?\n,]+?"
DISTANCE_TARGET = re.compile(rf"closer to the (?P<target>{_NAME}), the ", re.IGNORECASE)
CAM_OBJ = re.compile(rf"The (?P<a>{_NAME}) is visible in the first image\. Taking the camera of the second image", re.IGNORECASE)
OBJ_OBJ = re.compile(rf"Standing at the (?P<a>{_NAME}) and facing the viewing direction of the camera of the first image, where is the (?P<b>{_NAME})\?", re.IGNORECASE)


def _option_names(question: Question) -> dict[str, str]:
    return {letter: name for letter, text in question.options.items() if (name := object_name(text))}


def _calls(*groups: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(call for group in groups for call in group))


def cv_depth(question: Question, results: Sequence[ToolResult]) -> tuple[str, ...]:
    """Depth order: both options' objects measured by `object_depths` (their centres' depths), or
    sampled in one image (`estimate_depth` inside each one's detected box; a sample inside both
    boxes tells neither): the chosen object must have the smaller depth."""
    names = _option_names(question)
    if question.letter is None or len(names) < 2:
        return ()
    for result in results:
        table = result.content.get("center_depth_m")
        if result.tool != "object_depths" or not isinstance(table, Mapping):
            continue
        depths = {object_name(name): number(value) for name, value in table.items()}
        measured = {letter: depths.get(name) for letter, name in names.items()}
        if all(value is not None for value in measured.values()) and unique_least(measured) == question.letter:  # type: ignore[arg-type]
            return (result.call_id,)
    for image in sampled_images(results):
        sampled = {letter: object_samples(results, image, name, list(names.values())) for letter, name in names.items()}
        if any(s is None for s in sampled.values()):
            continue
        measured = {letter: s.depth for letter, s in sampled.items() if s is not None}
        if unique_least(measured) == question.letter:
            return _calls(*(s.calls for s in sampled.values() if s is not None))
    return ()


def _target_distances(question: Question, results: Sequence[ToolResult], target: str) -> Iterator[dict[str, Measured]]:
    """Option letter → centre distance from the target, from each source that covers every option:
    the measuring tools (last measurement of each pair), then each image's depth samples."""
    names = _option_names(question)
    if not names:
        return
    measured = {letter: found[-1] for letter, name in names.items() if (found := pair_distances(results, target, name, "center_distance_m"))}
    if len(measured) == len(names):
        yield measured
    everyone = [target, *names.values()]
    for image in sampled_images(results):
        anchor = object_samples(results, image, target, everyone)
        sampled = {letter: object_samples(results, image, name, everyone) for letter, name in names.items()}
        if anchor is None or any(s is None for s in sampled.values()):
            continue
        yield {
            letter: Measured(math.dist(anchor.position, s.position), _calls(anchor.calls, s.calls)) for letter, s in sampled.items() if s is not None
        }


def cv_distance(question: Question, results: Sequence[ToolResult]) -> tuple[str, ...]:
    """Relative distance: the centre distance from the target to each option's object, measured
    (`measure_distance`, `compare_distances`, both located once by `locate_objects`) or from the
    3D positions of depth samples in one image: the chosen object must be the unique nearer."""
    match = DISTANCE_TARGET.search(question.text)
    if match is None or question.letter is None or (target := object_name(match["target"])) is None:
        return ()
    for measured in _target_distances(question, results, target):
        if unique_least({letter: m.value for letter, m in measured.items()}) == question.letter:
            return _calls(*(m.calls for m in measured.values()))
    return ()


def blink_multiview(question: Question, results: Sequence[ToolResult]) -> tuple[str, ...]:
    """Camera motion: `camera_motion` from image 0 to image 1, or `reconstruct_cameras`, puts the
    second camera left (x < 0) or right (x > 0) of the first in the first camera's frame; the
    chosen option must say that side."""
    for result in results:
        if result.tool == "camera_motion" and (result.content.get("from_image"), result.content.get("to_image")) == (0, 1):
            if question.chosen is not None and result.content.get("direction") == question.chosen:
                return (result.call_id,)
    second = cameras(results).get(1)
    if second is None or second.position[0] == 0:
        return ()
    return (second.call_id,) if question.chosen == ("left" if second.position[0] < 0 else "right") else ()


def _quadrant(question: Question, results: Sequence[ToolResult], reference_image: int, standing_at: str | None, target: int | str) -> tuple[str, ...]:
    """A `relative_quadrant` call with the question's roles (the reference camera, where one
    stands, the target camera or object) whose quadrant is the chosen option."""
    for result in results:
        if result.tool != "relative_quadrant" or result.arguments.get("reference_image") != reference_image:
            continue
        roles = (result.named("standing_at"), result.arguments.get("target_image") if isinstance(target, int) else result.named("target_object"))
        if roles == (standing_at, target) and question.chosen is not None and result.content.get("quadrant") == question.chosen:
            return (result.call_id,)
    return ()


def mmsi_cam_cam(question: Question, results: Sequence[ToolResult]) -> tuple[str, ...]:
    """Second camera from the first: `relative_quadrant` of camera 1 around camera 0, or
    `reconstruct_cameras`' position of the second camera in the first's frame as a floor
    quadrant, must be the chosen option."""
    if found := _quadrant(question, results, 0, None, 1):
        return found
    second = cameras(results).get(1)
    if second is None or question.chosen is None:
        return ()
    x, _, z = second.position
    return (second.call_id,) if floor_quadrant(x, z) == question.chosen else ()


def mmsi_cam_obj(question: Question, results: Sequence[ToolResult]) -> tuple[str, ...]:
    """An object from the second camera: `relative_quadrant` of the object around camera 1, or its depth samples in the second image (a position in that
    camera's frame), or in the first image combined with the second camera's position and viewing
    direction from `reconstruct_cameras`; the floor quadrant must be the chosen option."""
    match = CAM_OBJ.search(question.text)
    if match is None or question.chosen is None or (name := object_name(match["a"])) is None:
        return ()
    if found := _quadrant(question, results, 1, None, name):
        return found
    seen_second = object_samples(results, 1, name)
    if seen_second is not None and floor_quadrant(seen_second.position[0], seen_second.position[2]) == question.chosen:
        return seen_second.calls
    seen_first, second = object_samples(results, 0, name), cameras(results).get(1)
    if seen_first is None or second is None:
        return ()
    (cx, _, cz), (fx, _, fz) = second.position, second.forward
    dx, dz = seen_first.position[0] - cx, seen_first.position[2] - cz
    # On the floor (x, z) the second camera faces (fx, fz) and its right is (fz, -fx).
    if floor_quadrant(dx * fz - dz * fx, dx * fx + dz * fz) == question.chosen:
        return _calls(seen_first.calls, (second.call_id,))
    return ()


def mmsi_obj_obj(question: Question, results: Sequence[ToolResult]) -> tuple[str, ...]:
    """One object from another, facing the first camera's direction: `relative_quadrant` standing
    at the one, or both located once by
    `locate_objects` (whose frame has y along the first camera's horizontal viewing direction and x
    to its right), or both sampled in the first image; the floor quadrant must be the chosen option."""
    match = OBJ_OBJ.search(question.text)
    if match is None or question.chosen is None:
        return ()
    a, b = object_name(match["a"]), object_name(match["b"])
    if a is None or b is None:
        return ()
    if found := _quadrant(question, results, 0, a, b):
        return found
    for (ax, ay, _), call_a in single_centres(results, a):
        for (bx, by, _), call_b in single_centres(results, b):
            if floor_quadrant(bx - ax, by - ay) == question.chosen:
                return _calls((call_a, call_b))
    seen_a, seen_b = object_samples(results, 0, a, [b]), object_samples(results, 0, b, [a])
    if seen_a is None or seen_b is None:
        return ()
    offset = [q - p for p, q in zip(seen_a.position, seen_b.position)]
    return _calls(seen_a.calls, seen_b.calls) if floor_quadrant(offset[0], offset[2]) == question.chosen else ()


VIEW_RULES: dict[str, Rule] = {
    "Depth": cv_depth,
    "Distance": cv_distance,
    "Multi-view_Reasoning": blink_multiview,
    "Positional Relationship (Cam.-Cam.)": mmsi_cam_cam,
    "Positional Relationship (Cam.-Obj.)": mmsi_cam_obj,
    "Positional Relationship (Obj.-Obj.)": mmsi_obj_obj,
}
