"""What the tools need from the experts, whoever serves them.

One Triton server (`ExpertsClient`), several replicas (`ReplicaPool`) and a test's double all
satisfy this, so the tools, the runner and the evaluation assembly depend on the shape, not on
a transport.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from skill3d_eval.experts import results
from skill3d_eval.experts.errors import ExpertUnavailable
from skill3d_eval.records import ExpertCacheStats


class Experts(Protocol):
    def depth(self, image: np.ndarray) -> results.DepthResult: ...

    def segment(self, image: np.ndarray, prompt: str | None = None, *, boxes: Sequence[Sequence[float]] | None = None) -> results.SegmentationResult: ...

    def detect(self, image: np.ndarray, prompts: str | Sequence[str]) -> results.DetectionResult: ...

    def reconstruct(self, images: Sequence[np.ndarray], *, points: bool = False) -> results.ReconstructionResult: ...

    def render_view(self, images: Sequence[np.ndarray], azimuth_deg: float, elevation_deg: float) -> results.NovelViewResult: ...

    def super_resolve(self, image: np.ndarray) -> results.SuperResolutionResult: ...

    def orient(self, image: np.ndarray, box: Sequence[float]) -> results.OrientationResult: ...

    def cache_stats(self) -> ExpertCacheStats | None:
        """Hits and misses of the result cache; None when no cache is configured."""
        ...


class NoExperts:
    """For policies that call no tools (chance levels, `direct`): no server is started for them."""

    def __getattr__(self, name: str) -> object:
        raise ExpertUnavailable(f"this policy uses no experts (asked for {name})")

    def cache_stats(self) -> ExpertCacheStats | None:
        return None
