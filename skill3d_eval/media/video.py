"""Uniformly sampled video frames, decoded once per (file, frame count) with PyAV.

Video tasks hand the model a file path (as lmms-eval's own vsibench does), and many questions
share one video, so decoded frames are cached: the key holds the file's size and mtime, so a
replaced file is decoded again. Frame indices follow lmms-eval's sampler
(`np.linspace(0, total - 1, n, dtype=int)`), so our 32 frames are the frames other models see.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import av
import numpy as np

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
CACHED_VIDEOS = 8


class VideoDecodeError(ValueError):
    """A video cannot be read or has no frames; the message names the file."""


def is_video_path(value: object) -> bool:
    return isinstance(value, (str, os.PathLike)) and str(value).lower().endswith(VIDEO_SUFFIXES)


def uniform_indices(total: int, num_frames: int) -> np.ndarray:
    count = min(num_frames, total)
    return np.linspace(0, total - 1, count, dtype=int)


def sample_frames(path: str | os.PathLike, num_frames: int = 32) -> tuple[np.ndarray, ...]:
    """`num_frames` (fewer if the video is shorter) RGB uint8 frames [H,W,3], read-only."""
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    file = Path(path)
    try:
        stat = file.stat()
    except OSError as exc:
        raise VideoDecodeError(f"video {file}: {exc.strerror or exc}") from exc
    return _decode(str(file.resolve()), stat.st_size, stat.st_mtime_ns, num_frames)


@functools.lru_cache(maxsize=CACHED_VIDEOS)
def _decode(path: str, _size: int, _mtime_ns: int, num_frames: int) -> tuple[np.ndarray, ...]:
    try:
        total = _count_frames(path)
        if total == 0:
            raise VideoDecodeError(f"video {path}: no frames")
        wanted = uniform_indices(total, num_frames)
        wanted_set = set(wanted.tolist())
        picked: dict[int, np.ndarray] = {}
        with av.open(path) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index > wanted[-1]:
                    break
                if index in wanted_set:
                    picked[index] = frame.to_ndarray(format="rgb24")
    except av.FFmpegError as exc:
        raise VideoDecodeError(f"video {path}: cannot decode: {exc}") from exc
    frames = []
    for index in wanted.tolist():
        frame = picked.get(index)
        if frame is None:
            raise VideoDecodeError(f"video {path}: frame {index} of {total} could not be decoded")
        frame.setflags(write=False)
        frames.append(frame)
    return tuple(frames)


def _count_frames(path: str) -> int:
    """The container's frame count when it states one, else a count by demuxing (no decoding)."""
    with av.open(path) as container:
        stream = container.streams.video[0] if container.streams.video else None
        if stream is None:
            raise VideoDecodeError(f"video {path}: no video stream")
        if stream.frames:
            return int(stream.frames)
        return sum(1 for packet in container.demux(stream) if packet.size)
