"""What an evidence rule reads of a trajectory: the question as asked and answered, and the
facts its successful tool calls returned (distances, located objects, per-image boxes and
depth samples, cameras).

Readers take only the tools' documented output fields (`tools/spatial.py`,
`tools/perception.py`) and pass over anything else, so an observation of another shape is no
evidence rather than an error: the metric is computed over recorded runs, old ones included.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from skill3d_eval.records import Trajectory
from skill3d_eval.scoring.numeric import extract_number, mean_relative_accuracy
from skill3d_eval.scoring.option_letter import lettered_option, option_text

_OPTION_LINE = re.compile(r"^\s*\(?([A-Z])\)?[.:)]\s*(.+?)\s*$", re.MULTILINE)
_LETTER = re.compile(r"^\(?([A-Z])\)?\.?$")
_CENTRES = re.compile(r"between the cent(?:er|re)s of", re.IGNORECASE)

Point = tuple[float, float, float]
Box = tuple[float, float, float, float]


def object_name(text: Any) -> str | None:
    """A category as the question and a tool call may spell it: case, spacing, a leading 'the'
    and a plural 's' or '(s)' do not matter."""
    if not isinstance(text, str):
        return None
    name = option_text(text).removeprefix("the ").removesuffix("(s)")
    if name.endswith("s") and not name.endswith("ss"):
        name = name[:-1]
    return name or None


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def numbers(value: Any) -> list[float] | None:
    """A non-empty JSON list of finite numbers, else None."""
    if not isinstance(value, list) or not value:
        return None
    found = [number(v) for v in value]
    return None if any(v is None for v in found) else [v for v in found if v is not None]


def point(value: Any) -> Point | None:
    found = numbers(value)
    return (found[0], found[1], found[2]) if found and len(found) == 3 else None


def agrees(answer: float, value: float) -> bool:
    """The answer would score full MRA were the evidence value the ground truth: within the
    tightest band (θ = 0.95, 5 %) of VSI-Bench's grid; a zero must be matched exactly."""
    return answer == value if value <= 0 else mean_relative_accuracy(answer, value) == 1.0


def distance_kind(question: str) -> str:
    """VSI-Bench measures "from the closest point of each object"; a question that says it
    measures between centres asks for the centre distance."""
    return "center_distance_m" if _CENTRES.search(question) else "closest_point_distance_m"


def unique_least(values: Mapping[str, float]) -> str | None:
    """The key of the smallest value; None when it is shared (the evidence decides nothing)."""
    if not values:
        return None
    least = min(values.values())
    best = [key for key, value in values.items() if value == least]
    return best[0] if len(best) == 1 else None


def floor_quadrant(right: float, forward: float) -> str | None:
    """The quadrant of a floor-plane offset, named as MMSI and VSI-Bench name them; None on an axis."""
    if right == 0 or forward == 0:
        return None
    return f"{'front' if forward > 0 else 'back'}-{'right' if right > 0 else 'left'}"


@dataclass(frozen=True)
class Question:
    """The prompt the agent saw, its options (letter → text) and the recorded final answer."""

    text: str
    options: Mapping[str, str]
    answer: str

    @classmethod
    def of(cls, trajectory: Trajectory) -> Question:
        """Options come from the sample (lettered "A. x", "A: x", "(A) x", or lettered by position
        when bare, as CV-Bench's and BLINK's choices are); a sample without any from the prompt's
        option lines."""
        options = dict(lettered_option(option, index) for index, option in enumerate(trajectory.options))
        if not options:
            options = {letter: option_text(text) for letter, text in _OPTION_LINE.findall(trajectory.question)}
        return cls(trajectory.question, options, trajectory.answer.strip())

    @property
    def number(self) -> float | None:
        return extract_number(self.answer)

    @property
    def letter(self) -> str | None:
        """The chosen option's letter: the answer itself ("B", "(B)"), or the option whose text it repeats."""
        match = _LETTER.match(self.answer.upper())
        if match and match.group(1) in self.options:
            return match.group(1)
        return next((letter for letter, text in self.options.items() if text == option_text(self.answer)), None)

    @property
    def chosen(self) -> str | None:
        letter = self.letter
        return None if letter is None else self.options[letter]


@dataclass(frozen=True)
class ToolResult:
    """One successful call: the arguments it was made with and the content it returned."""

    call_id: str
    tool: str
    arguments: Mapping[str, Any]
    content: Mapping[str, Any]

    def named(self, argument: str) -> str | None:
        """The object an argument names, spelled as `object_name` compares it."""
        return object_name(self.arguments.get(argument))


def tool_results(trajectory: Trajectory) -> list[ToolResult]:
    results = []
    for turn in trajectory.turns:
        calls = {call.id: call for call in turn.tool_calls}
        for observation in turn.observations:
            call = calls.get(observation.tool_call_id)
            if observation.ok and call is not None and isinstance(call.arguments, dict):
                results.append(ToolResult(call.id, call.name, call.arguments, observation.content))
    return results


@dataclass(frozen=True)
class Measured:
    """A value and the calls it was read or computed from."""

    value: float
    calls: tuple[str, ...]


def located(results: Sequence[ToolResult], name: str | None) -> Iterator[tuple[ToolResult, list[Mapping[str, Any]]]]:
    """`locate_objects` results for the category, with their instances."""
    for result in results:
        if result.tool == "locate_objects" and name is not None and result.named("category") == name:
            instances = result.content.get("instances")
            yield result, [i for i in instances if isinstance(i, Mapping)] if isinstance(instances, list) else []


def single_centres(results: Sequence[ToolResult], name: str) -> list[tuple[Point, str]]:
    """The centre of the one instance of a category that `locate_objects` found exactly once."""
    centres = []
    for result, instances in located(results, name):
        if number(result.content.get("count")) == 1 and len(instances) == 1 and (centre := point(instances[0].get("center_m"))):
            centres.append((centre, result.call_id))
    return centres


def pair_distances(results: Sequence[ToolResult], a: str, b: str, kind: str) -> list[Measured]:
    """Every measurement of the distance of `kind` (`closest_point_distance_m` or
    `center_distance_m`) between two named objects: `measure_distance` of the pair,
    `compare_distances` from one to the other and, for centres, both located once."""
    found = []
    for result in results:
        if result.tool == "measure_distance" and {result.named("object_a"), result.named("object_b")} == {a, b}:
            if (value := number(result.content.get(kind))) is not None:
                found.append(Measured(value, (result.call_id,)))
        elif result.tool == "compare_distances" and result.named("reference") in (a, b):
            other = b if result.named("reference") == a else a
            table = result.content.get(kind)
            for candidate, value in table.items() if isinstance(table, Mapping) else ():
                if object_name(candidate) == other and number(value) is not None:
                    found.append(Measured(float(value), (result.call_id,)))
    if kind == "center_distance_m":
        for centre_a, call_a in single_centres(results, a):
            for centre_b, call_b in single_centres(results, b):
                found.append(Measured(math.dist(centre_a, centre_b), (call_a, call_b)))
    return found


@dataclass(frozen=True)
class Detection:
    """The boxes one call found for one category in one image (how many it saw there)."""

    call_id: str
    image: int
    name: str
    boxes: tuple[Box, ...]


def _boxes(items: Any) -> tuple[Box, ...] | None:
    """The `box_xyxy` of every item, or None when any is malformed (the count would be wrong)."""
    if not isinstance(items, list):
        return None
    boxes = []
    for item in items:
        box = numbers(item.get("box_xyxy")) if isinstance(item, Mapping) else None
        if box is None or len(box) != 4:
            return None
        boxes.append((box[0], box[1], box[2], box[3]))
    return tuple(boxes)


def detections(results: Sequence[ToolResult]) -> list[Detection]:
    """Per-image detections from `segment_objects` (one prompt) and `detect_objects` (several categories)."""
    found = []
    for result in results:
        image = result.arguments.get("image")
        if not isinstance(image, int):
            continue
        if result.tool == "segment_objects" and (name := result.named("prompt")) and (boxes := _boxes(result.content.get("instances"))) is not None:
            found.append(Detection(result.call_id, image, name, boxes))
        elif result.tool == "detect_objects" and isinstance(result.content.get("detections"), list):
            for entry in result.content["detections"]:
                name = object_name(entry.get("category")) if isinstance(entry, Mapping) else None
                if name and (boxes := _boxes(entry.get("boxes"))) is not None:
                    found.append(Detection(result.call_id, image, name, boxes))
    return found


@dataclass(frozen=True)
class DepthSample:
    call_id: str
    image: int
    pixel: tuple[float, float]
    depth: float
    xyz: Point


def depth_samples(results: Sequence[ToolResult]) -> list[DepthSample]:
    """The points `estimate_depth` was asked about: pixel, depth and camera-frame position."""
    samples = []
    for result in results:
        image, points = result.arguments.get("image"), result.content.get("points")
        if result.tool != "estimate_depth" or not isinstance(image, int) or not isinstance(points, list):
            continue
        for item in points:
            if not isinstance(item, Mapping):
                continue
            pixel, depth, xyz = numbers(item.get("pixel")), number(item.get("depth_m")), point(item.get("xyz_camera_m"))
            if pixel is not None and len(pixel) == 2 and depth is not None and xyz is not None:
                samples.append(DepthSample(result.call_id, image, (pixel[0], pixel[1]), depth, xyz))
    return samples


def _inside(pixel: tuple[float, float], boxes: Sequence[Box]) -> bool:
    return any(x1 <= pixel[0] < x2 and y1 <= pixel[1] < y2 for x1, y1, x2, y2 in boxes)


@dataclass(frozen=True)
class ObjectSamples:
    """Depth samples taken inside one object's boxes in one image, and the calls that gave them."""

    depths: tuple[float, ...]
    xyz: tuple[Point, ...]
    calls: tuple[str, ...]

    @property
    def depth(self) -> float:
        return float(np.median(self.depths))

    @property
    def position(self) -> Point:
        x, y, z = np.median(np.asarray(self.xyz), axis=0)
        return (float(x), float(y), float(z))


def object_samples(results: Sequence[ToolResult], image: int, name: str, others: Sequence[str] = ()) -> ObjectSamples | None:
    """`estimate_depth` samples of an image inside the boxes a detection of that image found for
    `name`, leaving out samples that also fall inside a box of one of `others` (they tell neither)."""
    found = [d for d in detections(results) if d.image == image]
    own = [d for d in found if d.name == name]
    boxes = [box for d in own for box in d.boxes]
    foreign = [box for d in found if d.name in others and d.name != name for box in d.boxes]
    samples = [s for s in depth_samples(results) if s.image == image and _inside(s.pixel, boxes) and not _inside(s.pixel, foreign)]
    if not samples:
        return None
    boxed = [d.call_id for d in own if any(_inside(s.pixel, d.boxes) for s in samples)]
    calls = tuple(dict.fromkeys(boxed + [s.call_id for s in samples]))
    return ObjectSamples(tuple(s.depth for s in samples), tuple(s.xyz for s in samples), calls)


def sampled_images(results: Sequence[ToolResult]) -> list[int]:
    return sorted({sample.image for sample in depth_samples(results)})


@dataclass(frozen=True)
class Camera:
    """One image's camera in the first camera's frame (x right, y down, z forward, metres)."""

    position: Point
    forward: Point
    call_id: str


def cameras(results: Sequence[ToolResult]) -> dict[int, Camera]:
    """Image → its camera from `reconstruct_cameras`; a later call overrides an earlier one."""
    found: dict[int, Camera] = {}
    for result in results:
        entries = result.content.get("cameras")
        if result.tool != "reconstruct_cameras" or not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("image"), int):
                continue
            position, forward = point(entry.get("position_m")), point(entry.get("forward"))
            if position and forward:
                found[entry["image"]] = Camera(position, forward, result.call_id)
    return found


# A question type's evidence rule: the calls whose results imply the recorded answer (empty: none).
Rule = Callable[[Question, Sequence[ToolResult]], tuple[str, ...]]
