"""Uniform frame sampling from real mp4 files, its cache, and videos as lmms-eval visuals."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from skill3d_eval.records import SampleError
from skill3d_eval.lmms.sample import sample_from_request
from skill3d_eval.media.video import (
    VideoDecodeError,
    is_video_path,
    sample_frames,
    uniform_indices,
)
from tests.fixtures.build import write_video


@pytest.fixture
def video(tmp_path):
    path = tmp_path / "scene.mp4"
    write_video(path, frames=10)  # frame i is grey level 25 * i (lossy: compare roughly)
    return path


def _levels(frames):
    return [round(float(frame.mean()) / 25) for frame in frames]


def test_indices_are_lmms_evals_uniform_grid():
    assert uniform_indices(10, 4).tolist() == [0, 3, 6, 9]
    assert uniform_indices(3, 32).tolist() == [0, 1, 2]


def test_frames_are_sampled_uniformly_and_shorter_videos_give_all_frames(video):
    frames = sample_frames(video, 4)
    assert len(frames) == 4 and frames[0].shape == (24, 32, 3) and frames[0].dtype == np.uint8
    assert _levels(frames) == [0, 3, 6, 9]
    assert _levels(sample_frames(video, 32)) == list(range(10))


def test_decoded_frames_are_cached_until_the_file_changes(video):
    first = sample_frames(video, 3)
    assert sample_frames(str(video), 3)[1] is first[1]
    with pytest.raises(ValueError):
        first[0][0, 0, 0] = 1  # shared between callers, so read-only
    write_video(video, frames=4)
    os.utime(video, ns=(1, 1))  # a replaced file has another mtime
    assert _levels(sample_frames(video, 3)) == [0, 1, 3]  # linspace(0, 3, 3) truncated


def test_missing_and_broken_videos_name_the_file(tmp_path):
    with pytest.raises(VideoDecodeError, match="nope.mp4"):
        sample_frames(tmp_path / "nope.mp4")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    with pytest.raises(VideoDecodeError, match="broken.mp4"):
        sample_frames(broken)


def test_a_video_visual_becomes_frames_of_the_sample(video):
    doc = {"id": 7, "question_type": "object_counting", "scene_name": "s1", "options": []}
    args = ("How many?", {}, lambda d: [str(video), Image.new("RGB", (5, 4))], 3, "vsi_bench", "test")
    sample = sample_from_request(args, doc, num_frames=5)
    assert len(sample.frames) == 6 and sample.frames[-1].shape == (4, 5, 3)
    assert sample.sample_id == "vsi_bench/test/7" and sample.scene == "s1" and sample.task_type == "object_counting"
    assert is_video_path("a/b.MP4") and not is_video_path("a/b.png")


def test_an_unreadable_visual_is_a_sample_error_naming_the_sample(tmp_path):
    args = ("q", {}, lambda d: [str(tmp_path / "gone.mp4")], 0, "vsi_bench", "test")
    with pytest.raises(SampleError, match="vsi_bench/test/1: visual 0: .*gone.mp4"):
        sample_from_request(args, {"id": 1})
    with pytest.raises(SampleError, match="visual 0 is a int"):
        sample_from_request(("q", {}, lambda d: [3], 0, "t", "test"), {"id": 1})
