"""Re-checking a generated dataset against its own saved ground truth.

Generation and checking share the answer definitions (`questions`), but the checker reads only
what is on disk: parquet rows, videos, scene JSON and the oracle store. So it catches corrupted or
hand-edited files, truncated runs, frames whose truth is missing or belongs to another scene,
and scene files that no longer describe the pixels (every object pixel's back-projected depth
must land inside one of that object's part boxes).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
from skill3d_experts.oracle_store import FrameTruth, OracleMiss, OracleStore, frame_key

from skill3d_eval.synth.camera import back_project
from skill3d_eval.synth.questions import (
    QUESTION_TYPES,
    UnanswerableQuestion,
    answer_question,
)
from skill3d_eval.synth.scene import Scene, load_scene
from skill3d_eval.synth.schema import (
    COLUMNS,
    DATASET_NAME,
    SPLITS,
    decode_png,
    read_split,
    split_path,
)
from skill3d_eval.synth.video import decode_video, video_relative
from skill3d_eval.synth.view_questions import (
    BENCHMARKS,
    BLINK,
    CV3D,
    answer_view_question,
)
from skill3d_eval.synth.vsi_questions import CHOICE_TYPES

BOX_TOLERANCE = 1e-3  # metres a back-projected object pixel may lie outside its box
_KIND = {"cv3d": "task", "blink": "sub_task", "mmsi": "question_type"}
_ID = {"cv3d": "idx", "blink": "idx", "mmsi": "id"}


def _frame_problems(where: str, truth: FrameTruth, scene: Scene, frame_index: int, image: np.ndarray) -> list[str]:
    """Problems of one frame whose oracle truth is already known to be this scene's frame."""
    problems = []
    camera = scene.cameras[frame_index]
    if image.shape[:2] != (scene.image_size[1], scene.image_size[0]) or truth.depth.shape != image.shape[:2]:
        problems.append(f"{where}: image {image.shape[:2]}, depth {truth.depth.shape}, scene says {scene.image_size}")
        return problems
    if not np.allclose(truth.intrinsics, camera.intrinsics, atol=1e-4) or not np.allclose(
        truth.pose_c2w, camera.pose_c2w, atol=1e-5
    ):
        problems.append(f"{where}: oracle camera differs from the scene file")
    if truth.labels != scene.labels:
        problems.append(f"{where}: oracle labels {truth.labels} differ from the scene's {scene.labels}")
    boxes = {obj.instance_id: obj for obj in scene.objects}
    for instance_id in np.unique(truth.instances[truth.instances > 0]).tolist():
        rows, cols = np.nonzero(truth.instances == instance_id)
        obj = boxes.get(instance_id)
        if obj is None:
            problems.append(f"{where}: instance {instance_id} is not an object of the scene")
            continue
        points = back_project(truth.depth, camera, rows, cols)
        outside = np.ones(len(points), dtype=bool)
        for lo, hi, _ in obj.parts:
            outside &= np.any((points < lo - BOX_TOLERANCE) | (points > hi + BOX_TOLERANCE), axis=1)
        if outside.any():
            problems.append(
                f"{where}: {int(outside.sum())} pixels of instance {instance_id} back-project outside its parts"
            )
    return problems


def _pixel_counts(truth: FrameTruth) -> dict[int, int]:
    ids, counts = np.unique(truth.instances, return_counts=True)
    return {int(i): int(n) for i, n in zip(ids, counts, strict=True) if i > 0}


def _visibility_problems(scene: Scene, visible: dict[int, dict[int, int]], min_pixels: int, min_views: int) -> list[str]:
    views = Counter()
    for counts in visible.values():
        views.update(i for i, n in counts.items() if n >= min_pixels)
    return [
        f"{scene.name}: {obj.category} (instance {obj.instance_id}) has >= {min_pixels} pixels in only "
        f"{views[obj.instance_id]} frames (need {min_views})"
        for obj in scene.objects
        if views[obj.instance_id] < min_views
    ]


class _DatasetCheck:
    """One pass over a dataset; caches scenes and frame truths shared by many rows."""

    def __init__(self, root: Path, meta: dict):
        self.root = root
        self.meta = meta
        self.oracle = OracleStore(root / "oracle")
        self.members = {split: set(meta.get(f"{split}_scenes", [])) for split in SPLITS}
        self.scenes: dict[str, Scene | None] = {}
        self.visible: dict[str, dict[int, dict[int, int]]] = {}  # pixels per instance per checked frame
        self.checked_frames: set[tuple[str, int, bytes]] = set()
        self.checked_videos: set[str] = set()
        self.ids: set[int] = set()
        self.min_pixels = meta.get("args", {}).get("min_visible_pixels", 30)
        self.problems: list[str] = []

    def run(self) -> list[str]:
        if shared := self.members["train"] & self.members["test"]:
            self.problems.append(f"meta.json: scenes in both splits: {sorted(shared)}")
        for split in SPLITS:
            self.split(split)
        for benchmark in BENCHMARKS:
            for split in SPLITS:
                self.view_split(benchmark, split)
        for name in sorted((self.members["train"] | self.members["test"]) - self.scenes.keys()):
            self.problems.append(f"{name}: listed in meta.json but has no questions")
        args = self.meta.get("args", {})
        for name, by_index in self.visible.items():
            self.problems.extend(
                _visibility_problems(
                    self.scenes[name], by_index, args.get("min_visible_pixels", 30), args.get("min_views_per_object", 2)
                )
            )
        return self.problems

    def split(self, split: str) -> None:
        path = split_path(self.root, split)
        if not path.is_file():
            self.problems.append(f"{path}: missing")
            return
        table = read_split(path)
        if tuple(table.column_names) != COLUMNS:
            self.problems.append(f"{path}: columns {table.column_names}, expected {list(COLUMNS)}")
            return
        counts = Counter(table.column("question_type").to_pylist())
        expected_counts = self.meta.get("counts", {}).get(split, {})
        if {qtype: counts.get(qtype, 0) for qtype in QUESTION_TYPES} != expected_counts:
            self.problems.append(f"{path}: question counts {dict(counts)} differ from meta.json's {expected_counts}")
        for row in table.to_pylist():
            self.row(split, row)

    def scene(self, name: str) -> Scene | None:
        if name not in self.scenes:
            path = self.root / "scenes" / f"{name}.json"
            self.scenes[name] = load_scene(path) if path.is_file() else None
            if self.scenes[name] is None:
                self.problems.append(f"{path}: missing")
        return self.scenes[name]

    def row(self, split: str, row: dict) -> None:
        where = f"{split} id {row['id']} ({row['scene_name']})"
        if row["id"] in self.ids:
            self.problems.append(f"{where}: duplicate id")
        self.ids.add(row["id"])
        if row["dataset"] != DATASET_NAME:
            self.problems.append(f"{where}: dataset is {row['dataset']!r}")
        if row["scene_name"] not in self.members[split]:
            self.problems.append(f"{where}: scene is not listed in meta.json's {split} scenes")
        if row["question_type"] not in QUESTION_TYPES or bool(row["options"]) != (row["question_type"] in CHOICE_TYPES):
            self.problems.append(
                f"{where}: unexpected question type {row['question_type']!r} or options {row['options']}"
            )
            return
        scene = self.scene(row["scene_name"])
        if scene is None:
            return
        if row["video"] != video_relative(scene.name):
            self.problems.append(f"{where}: video {row['video']!r}, expected {video_relative(scene.name)!r}")
        self.video(scene)
        try:
            expected = answer_question(
                scene, row["question_type"], row["question"], row["options"],
                visible=self.visibility(scene.name), min_pixels=self.min_pixels,
            )
            if row["ground_truth"] != expected:
                self.problems.append(
                    f"{where}: ground_truth {row['ground_truth']!r}, recomputed {expected!r}: {row['question']}"
                )
        except UnanswerableQuestion as error:
            self.problems.append(f"{where}: {error}")

    def visibility(self, name: str) -> dict[int, dict[int, int]]:
        """Pixels per instance per frame, from the oracle truths of the frames checked so far."""
        return self.visible.get(name, {})

    def view_split(self, benchmark: str, split: str) -> None:
        """A frame-question subset: its images must be the named scene frames, its answers recompute."""
        path = split_path(self.root, f"{benchmark}_{split}")
        if not path.is_file():
            self.problems.append(f"{path}: missing")
            return
        rows = read_split(path).to_pylist()
        kinds = Counter(row[_KIND[benchmark]] for row in rows)
        expected_counts = self.meta.get("view_counts", {}).get(benchmark, {}).get(split, {})
        if dict(kinds) != expected_counts:
            self.problems.append(f"{path}: question counts {dict(kinds)} differ from meta.json's {expected_counts}")
        for row in rows:
            self.view_row(benchmark, split, row)

    def view_row(self, benchmark: str, split: str, row: dict) -> None:
        where = f"{benchmark}_{split} {row[_ID[benchmark]]} ({row['scene_name']})"
        if row["scene_name"] not in self.members[split]:
            self.problems.append(f"{where}: scene is not listed in meta.json's {split} scenes")
        scene = self.scene(row["scene_name"])
        if scene is None:
            return
        frames = row["frame_indices"]
        if benchmark == CV3D:
            images = [row["image"]["bytes"]]
        elif benchmark == BLINK:
            images = [row[f"image_{i}"]["bytes"] for i in (1, 2, 3, 4) if row[f"image_{i}"] is not None]
        else:
            images = row["images"]
        if len(images) != len(frames) or any(not 0 <= f < len(scene.cameras) for f in frames):
            self.problems.append(f"{where}: {len(images)} images for frame indices {frames}")
            return
        for frame_index, png in zip(frames, images, strict=True):
            self.frame(f"{where} frame {frame_index}", scene, frame_index, png)
        question = row["question"]
        try:
            expected = answer_view_question(scene, benchmark, row[_KIND[benchmark]], tuple(frames), question, self.visibility(scene.name))
            if row["answer"] != expected:
                self.problems.append(f"{where}: answer {row['answer']!r}, recomputed {expected!r}: {question}")
        except UnanswerableQuestion as error:
            self.problems.append(f"{where}: {error}")

    def video(self, scene: Scene) -> None:
        """A scene's video, decoded once as the evaluator decodes it: one frame per camera, each
        known to the oracle as that frame of the scene (so any `num_frames` sample is)."""
        if scene.name in self.checked_videos:
            return
        self.checked_videos.add(scene.name)
        path = self.root / video_relative(scene.name)
        try:
            frames = decode_video(path, len(scene.cameras))
        except ValueError as error:  # MediaError included
            self.problems.append(f"{scene.name}: video: {error}")
            return
        for frame_index, image in enumerate(frames):
            self.image(f"{path.relative_to(self.root)} frame {frame_index}", scene, frame_index, image)

    def frame(self, where: str, scene: Scene, frame_index: int, png: bytes) -> None:
        """Checked once per distinct (scene, index, encoded frame): rows of a scene share frames."""
        if (scene.name, frame_index, png) in self.checked_frames:
            return
        self.checked_frames.add((scene.name, frame_index, png))
        self.image(where, scene, frame_index, decode_png(png))

    def image(self, where: str, scene: Scene, frame_index: int, image: np.ndarray) -> None:
        try:
            truth = self.oracle.get(image)
        except OracleMiss:
            self.problems.append(f"{where}: not in the oracle store (key {frame_key(image)[:12]})")
            return
        if truth.scene != scene.name or truth.frame_index != frame_index:
            self.problems.append(f"{where}: is {truth.scene} frame {truth.frame_index} in the oracle store")
            return
        self.problems.extend(_frame_problems(where, truth, scene, frame_index, image))
        self.visible.setdefault(scene.name, {})[frame_index] = _pixel_counts(truth)


def check_dataset(root: Path) -> list[str]:
    """Human-readable problems of the dataset at `root`; an empty list means consistent."""
    root = Path(root)
    meta_path = root / "meta.json"
    if not meta_path.is_file():
        return [f"{root}: no meta.json (not a dataset, or its generation did not finish)"]
    return _DatasetCheck(root, json.loads(meta_path.read_text())).run()
