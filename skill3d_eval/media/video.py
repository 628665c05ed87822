"""Uniformly sampled video frames, decoded once per (file, frame count) and shared.

Video tasks hand the model a file path (as lmms-eval's own vsibench does), and many questions
share one video, so decoded frames go through a `FrameCache`: one decode per key at a time
(concurrent questions on a video wait for it), least-recently-used results kept up to
`FRAME_CACHE_BYTES`. The key holds the file's size and mtime, so a replaced file is decoded
again. Frame indices follow lmms-eval's sampler (`np.linspace(0, total - 1, n, dtype=int)`) and
`video_sampling` decodes only what those frames need, bit-identical to lmms-eval's `read_video`,
so our 32 frames are the frames other models see.

Frame size and count are checked against `media.limits` from the stream's metadata before a
frame is decoded, and a video that yields fewer frames than its container promises (truncated,
corrupt) is an error rather than a shorter sample.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import av

from skill3d_eval.media import limits
from skill3d_eval.media.errors import MediaError
from skill3d_eval.media.frame_cache import FrameCache, Frames
from skill3d_eval.media.video_sampling import decode_frames, read_index, uniform_indices

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
ISO_MEDIA_SUFFIXES = (".mp4", ".mov", ".m4v")
# 256 MiB: eight 640x480 videos at 32 frames; enough for the videos a run's concurrent questions
# share (rows come grouped by scene), small enough that a run's memory does not grow with its data.
FRAME_CACHE_BYTES = 256 * 1024 * 1024
VIDEO_FRAMES = FrameCache(FRAME_CACHE_BYTES)

__all__ = ["FRAME_CACHE_BYTES", "VIDEO_FRAMES", "VideoDecodeError", "is_video_path", "sample_frames", "uniform_indices"]


class VideoDecodeError(MediaError):
    """A video cannot be read or has no frames; the message names the file."""


def is_video_path(value: object) -> bool:
    return isinstance(value, (str, os.PathLike)) and str(value).lower().endswith(VIDEO_SUFFIXES)


def sample_frames(path: str | os.PathLike, num_frames: int = 32, *, cache: FrameCache = VIDEO_FRAMES) -> Frames:
    """`num_frames` (fewer if the video is shorter) RGB uint8 frames [H,W,3], read-only (shared)."""
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    file = Path(path)
    try:
        stat = file.stat()
    except OSError as exc:
        raise VideoDecodeError(f"video {file}: {exc.strerror or exc}") from exc
    bounds = limits.current()
    resolved = str(file.resolve())
    key = (resolved, stat.st_size, stat.st_mtime_ns, num_frames, bounds)
    return cache.get(key, lambda: _decode(resolved, stat.st_size, num_frames, bounds))


def _decode(path: str, size: int, num_frames: int, bounds: limits.MediaLimits) -> Frames:
    if path.lower().endswith(ISO_MEDIA_SUFFIXES):
        _check_boxes_complete(Path(path), size)
    try:
        with av.open(path) as container:
            stream = container.streams.video[0] if container.streams.video else None
            if stream is None or stream.codec_context is None:
                raise VideoDecodeError(f"video {path}: no decodable video stream")
            bounds.check_size(stream.codec_context.width, stream.codec_context.height, f"video {path}")
            stated = int(stream.frames or 0)
            index = read_index(container, stream)
        # The container's own count when it states one (lmms-eval samples from it), else the demuxed one.
        total = stated or (len(index.pts) if index is not None else _count_by_decoding(path))
        if total == 0:
            raise VideoDecodeError(f"video {path}: no frames")
        wanted = uniform_indices(total, num_frames)
        bounds.check_count(len(wanted), f"video {path}")
        picked = decode_frames(path, wanted, index)
    except av.FFmpegError as exc:
        raise VideoDecodeError(f"video {path}: cannot decode: {exc}") from exc
    frames = []
    for position in wanted.tolist():
        frame = picked.get(position)
        if frame is None:
            raise VideoDecodeError(f"video {path}: frame {position} of {total} could not be decoded")
        frame.setflags(write=False)
        frames.append(frame)
    return tuple(frames)


def _count_by_decoding(path: str) -> int:
    with av.open(path) as container:
        return sum(1 for _ in container.decode(video=0))


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
