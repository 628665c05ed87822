"""Several Triton replicas behind one experts interface, for teams without a load balancer.

Calls rotate over the replicas; a replica that is unavailable (refused, timed out, circuit
open) is skipped for a cooldown and the call moves on to the next one, so losing one replica
slows an evaluation down instead of failing its samples. A request the model rejects is not
retried elsewhere: every replica would reject it too.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Self

from skill3d_eval.experts.client import ExpertsClient
from skill3d_eval.experts.errors import ExpertUnavailable


class ReplicaPool:
    def __init__(self, clients: Sequence[ExpertsClient], *, cooldown_s: float = 10.0, clock: Callable[[], float] = time.monotonic):
        if not clients:
            raise ValueError("a replica pool needs at least one client")
        self.clients = list(clients)
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._down_until = [0.0] * len(self.clients)
        self._turn = itertools.count()
        self._lock = threading.Lock()

    @classmethod
    def from_urls(cls, urls: Sequence[str], **client_kwargs: Any) -> "ReplicaPool":
        return cls([ExpertsClient(url, **client_kwargs) for url in urls])

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def __getattr__(self, name: str) -> Any:
        """Every expert method of ExpertsClient, routed to a healthy replica."""
        if name.startswith("_") or not callable(getattr(ExpertsClient, name, None)):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._call(name, args, kwargs)

    def _order(self) -> list[int]:
        with self._lock:
            start = next(self._turn) % len(self.clients)
            now = self._clock()
            rotation = [(start + i) % len(self.clients) for i in range(len(self.clients))]
            healthy = [i for i in rotation if self._down_until[i] <= now]
            return healthy + [i for i in rotation if i not in healthy]

    def _call(self, name: str, args: tuple, kwargs: dict) -> Any:
        last: ExpertUnavailable | None = None
        for index in self._order():
            try:
                return getattr(self.clients[index], name)(*args, **kwargs)
            except ExpertUnavailable as exc:
                with self._lock:
                    self._down_until[index] = self._clock() + self.cooldown_s
                last = exc
        assert last is not None
        raise ExpertUnavailable(f"all {len(self.clients)} replicas unavailable; last: {last}", model=last.model)
