"""Scene Memory: what experts and tools established about a scene, shared by the run's later questions.

VSI-Bench asks ~17 questions about each video and spatial_synth ~14 about each scene, all on the
same sampled frames, so the depth maps, masks and camera poses of question 1 are those question
2 needs. The store belongs to one run (built by the session, never persisted, never written to
the skill store): a result is computed once and every later question of the same task, split and
scene reads it back, with its provenance (which expert or tool, which frames, which question).

Keys say exactly what a result was computed from, so reuse never changes an answer:
- an expert result by the content hashes of the frames the expert read: a per-image expert
  (depth, segmentation, detection, super-resolution) by that one frame, wherever it sits in the
  question's frame list; a multi-view expert (reconstruction, novel view) by the ordered tuple,
  since its world frame is its first view's camera (`poses_c2w[0]` is the identity);
- a tool's observation by every frame of the question, in order: its image indices and its 3D
  coordinates (the reconstruction's world frame) mean something only for that frame list. A
  question on other frames of the scene (another frame count, another clip) reuses per-image
  expert results of the frames it shares and nothing else.

Two concurrent questions asking for the same key share one computation (single-flight); a failed
computation is not remembered and the next asker computes it again. Results are kept in
least-recently-used order up to `max_bytes` (array bytes of expert results, JSON size of
observations), so a long run's memory stays bounded.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import numpy as np

from skill3d_eval.single_flight import SingleFlightCache, SingleFlightStats

SCENE_MEMORY_BYTES = 1024**3

T = TypeVar("T")


@dataclass(frozen=True)
class MemoryScope:
    """Questions that may share results: one task, one split, one scene."""

    task: str
    split: str | None
    scene: str


@dataclass(frozen=True)
class MemoryKey:
    scope: MemoryScope
    kind: Literal["observation", "expert"]
    name: str  # tool or expert
    frames: tuple[str, ...]  # content hashes of the frames the result was computed from
    arguments: str  # canonical JSON (observations) or repr (expert arguments)


@dataclass(frozen=True)
class Remembered(Generic[T]):
    value: T
    source_sample_id: str
    sequence: int  # order of computation, for listing facts in the order they were established


@dataclass(frozen=True)
class RememberedObservation:
    """A tool's successful observation as remembered, for rendering as facts (`skills.memory`)."""

    tool: str
    arguments: dict[str, Any]
    content: dict[str, Any]
    frames: tuple[str, ...]
    source_sample_id: str


def result_bytes(value: Any) -> int:
    """What an expert result (a dataclass of arrays) or a JSON observation holds in memory."""
    if dataclasses.is_dataclass(value):
        return sum(result_bytes(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (dict, list)):
        return len(json.dumps(value, default=str))
    return 64


class SceneMemoryStore:
    """Thread-safe, run-scoped memory of expert results and tool observations (see the module doc):
    a `SingleFlightCache` whose waiters compute again when the computing question failed."""

    def __init__(self, max_bytes: int = SCENE_MEMORY_BYTES):
        self._cache: SingleFlightCache[MemoryKey, Remembered] = SingleFlightCache(
            max_bytes, lambda remembered: result_bytes(remembered.value), waiters_retry=True
        )
        self._sequence = itertools.count(1)

    @property
    def stats(self) -> SingleFlightStats:
        return self._cache.stats

    def __len__(self) -> int:
        return len(self._cache)

    def recall(self, key: MemoryKey, compute: Callable[[], T], sample_id: str) -> tuple[T, str | None]:
        """(value, the question that computed it) when remembered or computed by a concurrent
        question, else (`compute()`, None) after remembering it as computed by `sample_id`.
        Observations are copied both ways, so no question's trajectory shares a dict with another's."""
        computed_here: list[T] = []

        def remember() -> Remembered:
            value = compute()
            computed_here.append(value)
            return Remembered(_copied(key, value), sample_id, next(self._sequence))

        remembered = self._cache.get(key, remember)
        if computed_here:
            return computed_here[0], None
        return _copied(key, remembered.value), remembered.source_sample_id

    def observations(self, scope: MemoryScope, frames: tuple[str, ...]) -> list[RememberedObservation]:
        """The tool observations remembered for exactly these frames of `scope`, oldest first."""
        found = [(key, entry) for key, entry in self._cache.items() if key.kind == "observation" and key.scope == scope and key.frames == frames]
        found.sort(key=lambda item: item[1].sequence)
        return [
            RememberedObservation(key.name, json.loads(key.arguments), copy.deepcopy(entry.value), key.frames, entry.source_sample_id)
            for key, entry in found
        ]


def _copied(key: MemoryKey, value: T) -> T:
    """Observations are mutable JSON and go into trajectories: each reader gets its own copy.
    Expert results are frozen dataclasses whose arrays the tools only read."""
    return copy.deepcopy(value) if key.kind == "observation" else value
