"""Decoded frames shared by every question on a video: one decode at a time per key, bounded by bytes.

VSI-Bench asks ~18 questions about each video and the runner answers several at once, so the
same (video, frame count) is requested by concurrent threads. The first request decodes; the
others wait for that flight and share its frames (`single_flight`). A failed decode is handed to
the waiters of that flight only and is not stored: the next request decodes again. Finished
results are kept in least-recently-used order up to `max_bytes` of pixel data, so memory stays
bounded however many videos a run reads.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from skill3d_eval.single_flight import SingleFlightCache

Frames = tuple[np.ndarray, ...]


def frames_bytes(frames: Frames) -> int:
    return sum(frame.nbytes for frame in frames)


class FrameCache(SingleFlightCache[Hashable, Frames]):
    def __init__(self, max_bytes: int):
        super().__init__(max_bytes, frames_bytes)
