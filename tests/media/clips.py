"""Small H.264 clips shaped like the videos that trip frame indexing: B-frames (decode order is
not presentation order), a stream that starts at a non-zero pts, variable frame rate, short GOPs."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def write_h264(
    path: Path,
    frames: int = 90,
    *,
    size: tuple[int, int] = (96, 64),
    gop: int = 12,
    bframes: int = 3,
    start_pts: int = 0,
    variable_rate: bool = False,
) -> Path:
    """Frame i shows a moving texture and its index in the top-left block, so every frame differs."""
    width, height = size
    rng = np.random.default_rng(7)
    texture = rng.integers(0, 256, (height * 2, width * 2, 3), dtype=np.uint8)
    durations = rng.integers(20, 60, frames) if variable_rate else np.full(frames, 33)
    timestamps = start_pts + np.concatenate([[0], np.cumsum(durations)[:-1]])
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
        stream.gop_size = gop
        stream.options = {"preset": "ultrafast" if bframes == 0 else "veryfast", "bf": str(bframes)}
        for i in range(frames):
            x, y = (3 * i) % width, (2 * i) % height
            image = np.ascontiguousarray(texture[y : y + height, x : x + width])
            image[:8, :8] = (i * 7) % 256
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = int(timestamps[i])
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
