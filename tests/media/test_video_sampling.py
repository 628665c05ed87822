"""Seek-based sampling gives lmms-eval's frames bit for bit, on the clips that break naive indexing."""

from __future__ import annotations

import av
import numpy as np
import pytest
from lmms_eval.models.model_utils.load_video import read_video

from skill3d_eval.media.frame_cache import FrameCache
from skill3d_eval.media.video import sample_frames
from skill3d_eval.media.video_sampling import decode_seeking, decode_sequentially, read_index, uniform_indices
from tests.media.clips import write_h264

CLIPS = {
    "b_frames": {},
    "non_zero_start_pts": {"start_pts": 5000},
    "variable_rate": {"variable_rate": True, "start_pts": 777},
    "no_b_frames_long_gop": {"bframes": 0, "gop": 250},
}


def _index(path):
    with av.open(str(path)) as container:
        return read_index(container, container.streams.video[0])


@pytest.mark.parametrize("clip", sorted(CLIPS))
@pytest.mark.parametrize("num_frames", [8, 32, 200])
def test_frames_are_lmms_evals_frames_bit_for_bit(tmp_path, clip, num_frames):
    path = write_h264(tmp_path / f"{clip}.mp4", **CLIPS[clip])
    expected = read_video(str(path), num_frm=num_frames)
    ours = sample_frames(path, num_frames, cache=FrameCache(0))
    assert len(ours) == len(expected) == min(num_frames, 90)  # a short video gives all its frames
    assert all(np.array_equal(a, b) for a, b in zip(ours, expected))


@pytest.mark.parametrize("clip", sorted(CLIPS))
def test_the_seek_path_itself_agrees_with_sequential_decoding(tmp_path, clip):
    """Not a silent fallback: seeking is usable on these clips and picks the same frames."""
    path = write_h264(tmp_path / f"{clip}.mp4", **CLIPS[clip])
    index = _index(path)
    assert index.seekable and len(index.pts) == 90 and index.pts[0] == _start_pts(path)
    wanted = uniform_indices(90, 7)
    seeking, sequential = decode_seeking(str(path), wanted, index), decode_sequentially(str(path), wanted)
    assert sorted(seeking) == sorted(sequential) == wanted.tolist()
    assert all(np.array_equal(seeking[i], sequential[i]) for i in wanted.tolist())
    distinct = {frame[:8, :8].mean().round() for frame in seeking.values()}
    assert len(distinct) == len(wanted)  # each wanted frame, not a neighbour


def _start_pts(path):
    with av.open(str(path)) as container:
        return container.streams.video[0].start_time


def test_frame_i_is_the_ith_in_presentation_order_not_decode_order(tmp_path):
    path = write_h264(tmp_path / "b.mp4", frames=30)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decode_order = [p.pts for p in container.demux(stream) if p.size]
    assert decode_order != sorted(decode_order)  # the clip really reorders (B-frames)
    assert _index(path).pts.tolist() == sorted(decode_order)
