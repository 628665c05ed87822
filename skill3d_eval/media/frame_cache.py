"""Decoded frames shared by every question on a video: one decode at a time per key, bounded by bytes.

VSI-Bench asks ~18 questions about each video and the runner answers several at once, so the
same (video, frame count) is requested by concurrent threads. The first request decodes; the
others wait for that flight and share its frames (single-flight). A failed decode is handed to
the waiters of that flight only and is not stored: the next request decodes again. Finished
results are kept in least-recently-used order up to `max_bytes` of pixel data, so memory stays
bounded however many videos a run reads; a result larger than the whole budget is returned but
not kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np

Frames = tuple[np.ndarray, ...]


@dataclass
class FrameCacheStats:
    hits: int = 0
    decodes: int = 0
    shared: int = 0  # requests that waited for another thread's decode
    evictions: int = 0


class _Flight:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.frames: Frames | None = None
        self.error: BaseException | None = None


class FrameCache:
    def __init__(self, max_bytes: int):
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self.stats = FrameCacheStats()
        self._entries: OrderedDict[Hashable, Frames] = OrderedDict()
        self._bytes = 0
        self._flights: dict[Hashable, _Flight] = {}
        self._lock = threading.Lock()

    @property
    def cached_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, decode: Callable[[], Frames]) -> Frames:
        """The frames for `key`, from the cache, from a decode in flight, or from `decode()` run here."""
        with self._lock:
            frames = self._entries.get(key)
            if frames is not None:
                self._entries.move_to_end(key)
                self.stats.hits += 1
                return frames
            flight = self._flights.get(key)
            leader = flight is None
            if leader:
                flight = self._flights[key] = _Flight()
                self.stats.decodes += 1
            else:
                self.stats.shared += 1
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.frames
        try:
            frames = decode()
        except BaseException as exc:
            with self._lock:
                del self._flights[key]
            flight.error = exc
            flight.done.set()
            raise
        with self._lock:
            del self._flights[key]
            self._store(key, frames)
        flight.frames = frames
        flight.done.set()
        return frames

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _store(self, key: Hashable, frames: Frames) -> None:
        size = sum(frame.nbytes for frame in frames)
        if size > self.max_bytes:
            return
        self._entries[key] = frames
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= sum(frame.nbytes for frame in evicted)
            self.stats.evictions += 1
