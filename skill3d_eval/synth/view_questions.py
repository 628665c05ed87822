"""Questions about one or two frames, in CV-Bench-3D, BLINK multi-view and MMSI-Bench style.

They are written in each benchmark's own column schema (`view_schema`) so that its task code
scores them unchanged. Answers are functions of the scene's cameras and objects (and which
objects a frame shows), shared by generation and the consistency check:

- CV-Bench 3D `Depth`: which of two objects' centres has the smaller z-depth in the frame;
  `Distance`: which of two objects' centres is nearer the third's, in 3D.
- BLINK `Multi-view_Reasoning`: did the camera move left or right from the first frame to the
  second (the second camera's position along the first camera's x axis)?
- MMSI positional relationships (Cam.-Cam., Cam.-Obj., Obj.-Obj.): a quadrant on the floor
  plane around a camera or object, facing a camera's viewing direction.

Where the answer would hinge on a few centimetres or degrees, the question is not asked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from skill3d_eval.synth import directions
from skill3d_eval.synth.options import LETTERS, paren_choices
from skill3d_eval.synth.question_record import UnanswerableQuestion
from skill3d_eval.synth.scene import Scene
from skill3d_eval.synth.vsi_questions import the_only

CV3D, BLINK, MMSI = "cv3d", "blink", "mmsi"
BENCHMARKS = (CV3D, BLINK, MMSI)
VIEW_SHARE = 0.004  # an object named in a frame question covers this share of the image there ...
MIN_VIEW_PIXELS = 30  # ... and at least this many pixels
DEPTH_MARGIN = 0.4  # metres
MOTION_MARGIN = 0.3  # metres of sideways camera motion
MOTION_STRIDE_DIVISOR = 8  # the second image of a motion pair is frames/8 on: the step of an 8-frame loop
MIN_SEPARATION = 0.5  # metres between things a quadrant question relates

DEPTH = "Which object is closer to the camera taking this photo, the {a} or the {b}?"
DISTANCE = "Estimate the real-world distances between objects in this image. Which object is closer to the {target}, the {a} or the {b}?"
CV_SUFFIX = " Select from the following choices.\n"
BLINK_PROMPT = (
    "The images are frames from a video. The video is shooting a static scene. The camera is either moving "
    "clockwise (left) or counter-clockwise (right) around the object. The first image is from the beginning of the "
    "video and the second image is from the end. Is the camera moving left or right when shooting the video? "
    "Select from the following options.\n(A) left\n(B) right"
)
BLINK_QUESTION = "Is the camera moving left or right when shooting the video?"
QUADRANTS = ("front-left", "front-right", "back-left", "back-right")
MMSI_OPTIONS = "\nOptions: " + ", ".join(f"{LETTERS[i]}: {q}" for i, q in enumerate(QUADRANTS))
CAM_CAM = "Positional Relationship (Cam.-Cam.)"
CAM_OBJ = "Positional Relationship (Cam.-Obj.)"
OBJ_OBJ = "Positional Relationship (Obj.-Obj.)"
MMSI_TEMPLATES = {
    CAM_CAM: "The two images are taken in the same room. Taking the camera of the first image as the reference, facing its viewing direction, where is the camera of the second image?",
    CAM_OBJ: "The {a} is visible in the first image. Taking the camera of the second image as the reference, facing its viewing direction, where is the {a}?",
    OBJ_OBJ: "Standing at the {a} and facing the viewing direction of the camera of the first image, where is the {b}?",
}
_NAME = r"(?P<{}>[a-z][a-z ]*?)"


def _pattern(template: str) -> re.Pattern:
    escaped = re.escape(template)
    for field in ("a", "b", "target"):
        escaped = escaped.replace(re.escape("{" + field + "}"), _NAME.format(field), 1).replace(re.escape("{" + field + "}"), f"(?P={field})")
    return re.compile(escaped)


PATTERNS = {"Depth": _pattern(DEPTH), "Distance": _pattern(DISTANCE), **{k: _pattern(v + MMSI_OPTIONS) for k, v in MMSI_TEMPLATES.items()}}


@dataclass(frozen=True)
class ViewQuestion:
    """A frame question; `kind` is the benchmark's task / question type, `frames` frame indices."""

    benchmark: str
    kind: str
    frames: tuple[int, ...]
    question: str
    answer: str
    choices: tuple[str, ...] = ()

    @property
    def prompt(self) -> str:
        if self.benchmark == CV3D:
            return self.question + CV_SUFFIX + paren_choices(list(self.choices))
        return BLINK_PROMPT if self.benchmark == BLINK else self.question


def _camera(scene: Scene, index: int) -> tuple[np.ndarray, np.ndarray]:
    pose = scene.cameras[index].pose_c2w
    return pose[:3, :3], pose[:3, 3]


def view_pixels(scene: Scene) -> int:
    width, height = scene.image_size
    return max(MIN_VIEW_PIXELS, round(VIEW_SHARE * width * height))


def _shown(scene: Scene, visible: Mapping[int, Mapping[int, int]], frame: int, category: str):
    obj = the_only(scene, category)
    if visible.get(frame, {}).get(obj.instance_id, 0) < view_pixels(scene):
        raise UnanswerableQuestion(f"{scene.name}: the {category} is not clearly visible in frame {frame}")
    return obj


def _paren(index: int) -> str:
    return f"({LETTERS[index]})"


def depth_answer(scene, visible, frame, a, b) -> str:
    rotation, eye = _camera(scene, frame)
    depths = [float((rotation.T @ (np.asarray(_shown(scene, visible, frame, c).center) - eye))[2]) for c in (a, b)]
    if abs(depths[0] - depths[1]) < DEPTH_MARGIN:
        raise UnanswerableQuestion(f"{scene.name}: {a} and {b} at near-equal depth in frame {frame}")
    return _paren(int(np.argmin(depths)))


def distance_answer(scene, visible, frame, target, a, b) -> str:
    anchor = np.asarray(_shown(scene, visible, frame, target).center)
    gaps = [float(np.linalg.norm(np.asarray(_shown(scene, visible, frame, c).center) - anchor)) for c in (a, b)]
    if abs(gaps[0] - gaps[1]) < DEPTH_MARGIN:
        raise UnanswerableQuestion(f"{scene.name}: {a} and {b} near-equally far from {target}")
    return _paren(int(np.argmin(gaps)))


def motion_answer(scene, first: int, second: int) -> str:
    rotation, eye = _camera(scene, first)
    sideways = float((rotation.T @ (_camera(scene, second)[1] - eye))[0])
    if abs(sideways) < MOTION_MARGIN:
        raise UnanswerableQuestion(f"{scene.name}: frames {first}->{second} move {sideways:.2f} m sideways")
    return "(A)" if sideways < 0 else "(B)"


def _facing(scene: Scene, frame: int) -> np.ndarray:
    rotation, _ = _camera(scene, frame)
    return rotation[:, 2]


def quadrant_answer(scene, visible, kind, first, second, a=None, b=None) -> str:
    if kind == CAM_CAM:
        origin, facing, point = _camera(scene, first)[1], _facing(scene, first), _camera(scene, second)[1]
    elif kind == CAM_OBJ:
        origin, facing, point = _camera(scene, second)[1], _facing(scene, second), np.asarray(_shown(scene, visible, first, a).center)
    else:
        origin = np.asarray(_shown(scene, visible, first, a).center)
        facing, point = _facing(scene, first), np.asarray(_shown(scene, visible, first, b).center)
    if np.linalg.norm((point - origin)[:2]) < MIN_SEPARATION:
        raise UnanswerableQuestion(f"{scene.name}: {kind} points too close together")
    try:
        return LETTERS[QUADRANTS.index(directions.quadrant(directions.signed_angle(origin, origin + facing, point)))]
    except directions.Ambiguous as exc:
        raise UnanswerableQuestion(f"{scene.name}: {kind}: {exc}") from exc


def answer_view_question(scene: Scene, benchmark: str, kind: str, frames: tuple[int, ...], question: str, visible) -> str:
    """Recompute a frame question's answer ('(A)' style for CV-Bench / BLINK, 'A' for MMSI)."""
    if any(not 0 <= f < len(scene.cameras) for f in frames):
        raise UnanswerableQuestion(f"{scene.name}: frame indices {frames} out of range")
    if benchmark == BLINK:
        if question != BLINK_QUESTION or len(frames) != 2:
            raise UnanswerableQuestion(f"not a camera-motion question: {question!r}")
        return motion_answer(scene, *frames)
    match = PATTERNS[kind].fullmatch(question) if kind in PATTERNS else None
    if match is None:
        raise UnanswerableQuestion(f"not a {kind} question: {question!r}")
    fields = match.groupdict()
    if kind == "Depth":
        return depth_answer(scene, visible, frames[0], fields["a"], fields["b"])
    if kind == "Distance":
        return distance_answer(scene, visible, frames[0], fields["target"], fields["a"], fields["b"])
    return quadrant_answer(scene, visible, kind, frames[0], frames[1], fields.get("a"), fields.get("b"))


def _singles(scene: Scene) -> list[str]:
    names = [obj.category for obj in scene.objects]
    return sorted({n for n in names if names.count(n) == 1})


def _shown_in(scene, visible, frame) -> list[str]:
    return [c for c in _singles(scene) if visible.get(frame, {}).get(the_only(scene, c).instance_id, 0) >= view_pixels(scene)]


def make_view_questions(scene: Scene, rng: np.random.Generator, visible: Mapping[int, Mapping[int, int]]) -> list[ViewQuestion]:
    """Up to two CV-Bench-3D questions, one BLINK and up to three MMSI questions per scene."""
    questions: list[ViewQuestion] = []
    n = len(scene.cameras)

    def attempt(make, tries=20):
        for _ in range(tries):
            try:
                questions.append(make())
                return
            except (UnanswerableQuestion, ValueError):
                continue

    def pick(pool, k):
        if len(pool) < k:
            raise ValueError("too few objects")
        return [pool[i] for i in rng.choice(len(pool), size=k, replace=False)]

    def depth():
        frame = int(rng.integers(n))
        a, b = pick(_shown_in(scene, visible, frame), 2)
        return ViewQuestion(CV3D, "Depth", (frame,), DEPTH.format(a=a, b=b), depth_answer(scene, visible, frame, a, b), (a, b))

    def distance():
        frame = int(rng.integers(n))
        target, a, b = pick(_shown_in(scene, visible, frame), 3)
        text = DISTANCE.format(target=target, a=a, b=b)
        return ViewQuestion(CV3D, "Distance", (frame,), text, distance_answer(scene, visible, frame, target, a, b), (a, b))

    def motion():
        first = int(rng.integers(n))
        second = (first + max(1, n // MOTION_STRIDE_DIVISOR)) % n  # an eighth of the loop on: a visible move
        return ViewQuestion(BLINK, "Multi-view_Reasoning", (first, second), BLINK_QUESTION, motion_answer(scene, first, second), ("left", "right"))

    def mmsi(kind):
        def make():
            first, second = (int(i) for i in rng.choice(n, size=2, replace=False))
            a = b = None
            if kind in (CAM_OBJ, OBJ_OBJ):
                names = pick(_shown_in(scene, visible, first), 1 if kind == CAM_OBJ else 2)
                a, b = names[0], names[-1] if kind == OBJ_OBJ else None
            text = MMSI_TEMPLATES[kind].format(a=a, b=b) + MMSI_OPTIONS
            return ViewQuestion(MMSI, kind, (first, second), text, quadrant_answer(scene, visible, kind, first, second, a, b))

        return make

    for make in (depth, distance, motion, mmsi(CAM_CAM), mmsi(CAM_OBJ), mmsi(OBJ_OBJ)):
        attempt(make)
    return questions
