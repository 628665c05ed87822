"""Uniformly sampled video frames, decoded once per (file, frame count) with PyAV.

Video tasks hand the model a file path (as lmms-eval's own vsibench does), and many questions
share one video, so decoded frames are cached: the key holds the file's size and mtime, so a
replaced file is decoded again. Frame indices follow lmms-eval's sampler
(`np.linspace(0, total - 1, n, dtype=int)`), so our 32 frames are the frames other models see.

Frame size and count are checked against `media.limits` from the stream's metadata before a
frame is decoded, and a video that yields fewer frames than its container promises (truncated,
corrupt) is an error rather than a shorter sample.
"""

from __future__ import annotations

import functools
import os
import struct
from pathlib import Path

import av
import numpy as np

from skill3d_eval.media import limits
from skill3d_eval.media.errors import MediaError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
ISO_MEDIA_SUFFIXES = (".mp4", ".mov", ".m4v")
CACHED_VIDEOS = 8


class VideoDecodeError(MediaError):
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
    bounds = limits.current()
    return _decode(str(file.resolve()), stat.st_size, stat.st_mtime_ns, num_frames, bounds)


@functools.lru_cache(maxsize=CACHED_VIDEOS)
def _decode(path: str, size: int, _mtime_ns: int, num_frames: int, bounds: limits.MediaLimits) -> tuple[np.ndarray, ...]:
    if path.lower().endswith(ISO_MEDIA_SUFFIXES):
        _check_boxes_complete(Path(path), size)
    try:
        total = _checked_frame_count(path, bounds)
        if total == 0:
            raise VideoDecodeError(f"video {path}: no frames")
        wanted = uniform_indices(total, num_frames)
        bounds.check_count(len(wanted), f"video {path}")
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


def _checked_frame_count(path: str, bounds: limits.MediaLimits) -> int:
    """The container's frame count when it states one, else a count by demuxing (no decoding);
    the frame size is checked from the stream header first."""
    with av.open(path) as container:
        stream = container.streams.video[0] if container.streams.video else None
        if stream is None or stream.codec_context is None:
            raise VideoDecodeError(f"video {path}: no decodable video stream")
        bounds.check_size(stream.codec_context.width, stream.codec_context.height, f"video {path}")
        if stream.frames:
            return int(stream.frames)
        return sum(1 for packet in container.demux(stream) if packet.size)


def _check_boxes_complete(file: Path, size: int) -> None:
    """MP4/MOV is a sequence of sized boxes; a file cut short leaves the last one incomplete.
    FFmpeg decodes the remnant of a cut packet without complaint, so this is checked first."""
    offset = 0
    with file.open("rb") as handle:
        while offset < size:
            handle.seek(offset)
            header = handle.read(16)
            if len(header) < 8:
                raise VideoDecodeError(f"video {file}: truncated (a box header is cut off at byte {offset} of {size})")
            length, kind = struct.unpack(">I4s", header[:8])
            if length == 1:
                if len(header) < 16:
                    raise VideoDecodeError(f"video {file}: truncated (a box header is cut off at byte {offset} of {size})")
                length = struct.unpack(">Q", header[8:16])[0]
            elif length == 0:
                return
            if length < 8 or offset + length > size:
                raise VideoDecodeError(
                    f"video {file}: truncated or corrupt ({kind.decode('latin-1')!r} box at byte {offset} needs {length} bytes, {size - offset} remain)"
                )
            offset += length
