"""Scenes as sampled: layout rules, reproducibility, and the visibility guarantee."""

from collections import Counter

import numpy as np
import pytest
from skill3d_experts.oracle_store import OracleStore

from skill3d_eval.synth.catalogue import BY_NAME
from skill3d_eval.synth.layout import OBJECT_GAP, WALL_GAP
from skill3d_eval.synth.render import visible_pixels
from skill3d_eval.synth.sampling import SceneParams, sample_scene
from skill3d_eval.synth.scene import load_scene
from skill3d_eval.synth.schema import read_split
from skill3d_eval.synth.video import decode_video

PARAMS = SceneParams(frames=6, width=96, height=72)


@pytest.fixture(scope="module")
def scenes():
    return [sample_scene(f"s{i}", np.random.default_rng(i), PARAMS) for i in range(6)]


def test_objects_respect_room_walls_floor_and_each_other(scenes):
    for rendered in scenes:
        scene = rendered.scene
        room = scene.room
        assert 3.0 <= room.width <= 8.0 and 3.0 <= room.depth <= 8.0 and 2.5 <= room.height <= 3.0
        assert 4 <= len(scene.objects) <= 10
        assert [obj.instance_id for obj in scene.objects] == list(range(1, len(scene.objects) + 1))
        for obj in scene.objects:
            assert obj.lo[2] == pytest.approx(0.0)
            assert np.all(obj.lo[:2] >= WALL_GAP - 1e-9) and np.all(obj.hi[:2] <= room.hi[:2] - WALL_GAP + 1e-9)
            category = BY_NAME[obj.category]
            lo, hi = np.array(category.size_min), np.array(category.size_max)
            size = np.array(obj.size)
            assert lo[2] <= size[2] <= hi[2], obj
            # A 90° yaw may swap the x and y extents.
            assert np.all((lo[:2] <= size[:2]) & (size[:2] <= hi[:2])) or np.all(
                (lo[:2] <= size[1::-1]) & (size[1::-1] <= hi[:2])
            ), obj
        for i, a in enumerate(scene.objects):
            for b in scene.objects[i + 1 :]:
                gaps = np.maximum(a.lo[:2] - b.hi[:2], b.lo[:2] - a.hi[:2])
                assert gaps.max() >= OBJECT_GAP - 1e-9, (scene.name, a, b)
        for camera in scene.cameras:
            eye = camera.pose_c2w[:3, 3]
            assert 1.4 <= eye[2] <= 1.7
            forward = camera.pose_c2w[:3, 2]
            assert -np.sin(np.radians(21)) < forward[2] < 0  # slightly downward


def test_some_categories_repeat_and_some_occur_once(scenes):
    for rendered in scenes:
        counts = Counter(obj.category for obj in rendered.scene.objects)
        assert max(counts.values()) >= 2
        assert sum(1 for n in counts.values() if n == 1) >= 2
        assert all(n <= BY_NAME[c].max_count for c, n in counts.items())


def test_same_seed_same_scene_different_seed_different_scene(scenes):
    again = sample_scene("s0", np.random.default_rng(0), PARAMS)
    assert again.scene.objects == scenes[0].scene.objects and again.scene.room == scenes[0].scene.room
    assert all(np.array_equal(a.rgb, b.rgb) for a, b in zip(again.views, scenes[0].views, strict=True))
    assert scenes[1].scene.objects != scenes[0].scene.objects


def test_every_object_is_visible_in_at_least_two_frames(scenes):
    for rendered in scenes:
        ids = [obj.instance_id for obj in rendered.scene.objects]
        seen = visible_pixels(rendered.views, ids) >= PARAMS.min_visible_pixels
        assert np.all(seen.sum(axis=0) >= 2), rendered.scene.name


def test_every_object_of_a_generated_dataset_is_visible_in_two_frames_of_its_rows(small_dataset, small_args):
    """Checked from the written files alone: the frames of a row's video, looked up in the oracle."""
    oracle = OracleStore(small_dataset / "oracle")
    for split in ("train", "test"):
        first_rows = {}
        for row in read_split(small_dataset / "data" / f"{split}.parquet").to_pylist():
            first_rows.setdefault(row["scene_name"], row)
        for name, row in first_rows.items():
            scene = load_scene(small_dataset / "scenes" / f"{name}.json")
            views = Counter()
            for frame in decode_video(small_dataset / row["video"], small_args["frames"]):
                ids, counts = np.unique(oracle.get(frame).instances, return_counts=True)
                views.update(int(i) for i, n in zip(ids, counts, strict=True) if i > 0 and n >= 30)
            assert all(views[obj.instance_id] >= 2 for obj in scene.objects), (name, views)
