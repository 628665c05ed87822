"""Several Triton replicas behind one experts interface, for teams without a load balancer.

Calls rotate over the replicas; a replica that is unavailable (refused, timed out, circuit
open) is skipped for a cooldown and the call moves on to the next one, so losing one replica
slows an evaluation down instead of failing its samples. A request the model rejects is not
retried elsewhere: every replica would reject it too.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self

import numpy as np

from skill3d_eval.experts.client import ExpertsClient
from skill3d_eval.experts.errors import ExpertUnavailable
from skill3d_eval.experts import results
from skill3d_eval.records import ExpertCacheStats, ServedExpert

logger = logging.getLogger(__name__)


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

    def depth(self, image: np.ndarray) -> results.DepthResult:
        return self._call("depth", (image,), {})

    def segment(self, image: np.ndarray, prompt: str | None = None, *, boxes: Sequence[Sequence[float]] | None = None) -> results.SegmentationResult:
        return self._call("segment", (image, prompt), {"boxes": boxes})

    def detect(self, image: np.ndarray, prompts: str | Sequence[str]) -> results.DetectionResult:
        return self._call("detect", (image, prompts), {})

    def reconstruct(self, images: Sequence[np.ndarray], *, points: bool = False) -> results.ReconstructionResult:
        return self._call("reconstruct", (images,), {"points": points})

    def render_view(self, images: Sequence[np.ndarray], azimuth_deg: float, elevation_deg: float) -> results.NovelViewResult:
        return self._call("render_view", (images, azimuth_deg, elevation_deg), {})

    def super_resolve(self, image: np.ndarray) -> results.SuperResolutionResult:
        return self._call("super_resolve", (image,), {})

    def orient(self, image: np.ndarray, box: Sequence[float]) -> results.OrientationResult:
        return self._call("orient", (image, box), {})

    def infer(self, model: str, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]) -> dict[str, np.ndarray]:
        return self._call("infer", (model, inputs, outputs), {})

    def model_identities(self, models: Sequence[str]) -> dict[str, str]:
        """Identities the usable replicas agree on; a dead replica is only logged (calls skip it),
        replicas serving different model versions or configurations are refused."""
        found, problems = {}, []
        for client in self.clients:
            try:
                found[client.url] = client.model_identities(models)
            except ExpertUnavailable as exc:
                problems.append(str(exc))
        if not found:
            raise ExpertUnavailable(f"no usable replica: {'; '.join(problems)}")
        if len({tuple(sorted(identities.items())) for identities in found.values()}) > 1:
            raise ExpertUnavailable(f"replicas serve different model versions or configurations ({', '.join(found)}): results would depend on the replica")
        for problem in problems:
            logger.warning("replica not usable, calls will skip it: %s", problem)
        return next(iter(found.values()))

    def served_experts(self, models: Sequence[str]) -> dict[str, ServedExpert]:
        """What the first usable replica serves: `model_identities` refuses replicas that differ."""
        problems = []
        for client in self.clients:
            try:
                return client.served_experts(models)
            except ExpertUnavailable as exc:
                problems.append(str(exc))
        raise ExpertUnavailable(f"no usable replica: {'; '.join(problems)}")

    def ready(self) -> bool:
        """True when any replica is ready: calls skip the others."""
        return any(client.ready() for client in self.clients)

    def cache_stats(self) -> ExpertCacheStats | None:
        stats = [s for s in (client.cache_stats() for client in self.clients) if s is not None]
        if not stats:
            return None
        return ExpertCacheStats(hits=sum(s.hits for s in stats), misses=sum(s.misses for s in stats))

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
