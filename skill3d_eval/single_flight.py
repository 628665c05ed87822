"""A byte-bounded LRU cache whose misses are computed once per key at a time (single-flight).

Decoded video frames (`media.frame_cache`) and a run's Scene Memory (`tools.memory`) are both
asked for the same key by concurrent questions: the first asker computes, the others wait for
that flight and share its value. Finished values are kept in least-recently-used order up to
`max_bytes` as `size` measures them; a value larger than the whole budget is returned but not
kept. A failed computation is never kept. Its waiters either get the same error
(`waiters_retry=False`: a video that cannot be decoded fails the same way for everyone) or
compute again themselves (`waiters_retry=True`: an expert call may have failed for the asking
question's own reasons, e.g. its timeout).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class SingleFlightStats:
    hits: int = 0  # answered from a kept value
    computed: int = 0  # computations started, failed ones included
    shared: int = 0  # requests that waited for another thread's computation
    evictions: int = 0


class _Flight(Generic[V]):
    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: V | None = None
        self.error: BaseException | None = None


class SingleFlightCache(Generic[K, V]):
    def __init__(self, max_bytes: int, size: Callable[[V], int], *, waiters_retry: bool = False):
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self.stats = SingleFlightStats()
        self._size = size
        self._waiters_retry = waiters_retry
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._flights: dict[K, _Flight[V]] = {}
        self._lock = threading.Lock()

    @property
    def cached_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def items(self) -> list[tuple[K, V]]:
        """The kept values, least recently used first (a snapshot)."""
        with self._lock:
            return [(key, value) for key, (value, _) in self._entries.items()]

    def get(self, key: K, compute: Callable[[], V]) -> V:
        """The value for `key`: kept, from a computation in flight, or from `compute()` run here."""
        while True:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None:
                    self._entries.move_to_end(key)
                    self.stats.hits += 1
                    return entry[0]
                flight = self._flights.get(key)
                if flight is None:
                    flight = self._flights[key] = _Flight()
                    self.stats.computed += 1
                    break
                self.stats.shared += 1
            flight.done.wait()
            if flight.error is None:
                return flight.value
            if not self._waiters_retry:
                raise flight.error
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                del self._flights[key]
            flight.error = exc
            flight.done.set()
            raise
        with self._lock:
            del self._flights[key]
            self._keep(key, value)
        flight.value = value
        flight.done.set()
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _keep(self, key: K, value: V) -> None:
        size = self._size(value)
        if size > self.max_bytes:
            return
        self._entries[key] = (value, size)
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, (_, evicted) = self._entries.popitem(last=False)
            self._bytes -= evicted
            self.stats.evictions += 1
