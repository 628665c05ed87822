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
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import numpy as np

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


@dataclass
class SceneMemoryStats:
    computed: int = 0
    recalled: int = 0  # answered from a finished entry
    shared: int = 0  # waited for another question's computation in flight
    evictions: int = 0


class _Flight:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Remembered | None = None  # None: the computation failed


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
    """Thread-safe, run-scoped memory of expert results and tool observations (see the module doc)."""

    def __init__(self, max_bytes: int = SCENE_MEMORY_BYTES):
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self.stats = SceneMemoryStats()
        self._entries: OrderedDict[MemoryKey, tuple[Remembered, int]] = OrderedDict()
        self._flights: dict[MemoryKey, _Flight] = {}
        self._bytes = 0
        self._sequence = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def recall(self, key: MemoryKey, compute: Callable[[], T], sample_id: str) -> tuple[T, str | None]:
        """(value, the question that computed it) when remembered or computed by a concurrent
        question, else (`compute()`, None) after remembering it as computed by `sample_id`.
        Observations are copied both ways, so no question's trajectory shares a dict with another's."""
        while True:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None:
                    self._entries.move_to_end(key)
                    self.stats.recalled += 1
                    return _copied(key, entry[0].value), entry[0].source_sample_id
                flight = self._flights.get(key)
                leader = flight is None
                if leader:
                    flight = self._flights[key] = _Flight()
            if leader:
                break
            flight.done.wait()
            if flight.result is not None:
                with self._lock:
                    self.stats.shared += 1
                return _copied(key, flight.result.value), flight.result.source_sample_id
            # the computation failed there: compute here (or join the next flight)
        try:
            value = compute()
        except BaseException:
            with self._lock:
                del self._flights[key]
            flight.done.set()
            raise
        with self._lock:
            self._sequence += 1
            remembered = Remembered(_copied(key, value), sample_id, self._sequence)
            self.stats.computed += 1
            self._keep(key, remembered)
            flight.result = remembered
            del self._flights[key]
        flight.done.set()
        return value, None

    def observations(self, scope: MemoryScope, frames: tuple[str, ...]) -> list[RememberedObservation]:
        """The tool observations remembered for exactly these frames of `scope`, oldest first."""
        with self._lock:
            found = [(key, entry) for key, (entry, _) in self._entries.items() if key.kind == "observation" and key.scope == scope and key.frames == frames]
        found.sort(key=lambda item: item[1].sequence)
        return [
            RememberedObservation(key.name, json.loads(key.arguments), copy.deepcopy(entry.value), key.frames, entry.source_sample_id)
            for key, entry in found
        ]

    def _keep(self, key: MemoryKey, remembered: Remembered) -> None:
        size = result_bytes(remembered.value)
        if size > self.max_bytes:
            return
        self._entries[key] = (remembered, size)
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, (_, evicted) = self._entries.popitem(last=False)
            self._bytes -= evicted
            self.stats.evictions += 1


def _copied(key: MemoryKey, value: T) -> T:
    """Observations are mutable JSON and go into trajectories: each reader gets its own copy.
    Expert results are frozen dataclasses whose arrays the tools only read."""
    return copy.deepcopy(value) if key.kind == "observation" else value
