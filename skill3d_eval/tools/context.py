"""What a tool may touch for one sample: that sample's frames and the experts, nothing else.

Image references from the model are indices into the sample's own frames, checked here, so a
model can never make a tool read a path or URL. Expert results are memoised per sample: the
spatial tools ask for the same depth map or camera poses several times, and a tool's visual
evidence is drawn from the very result its JSON reports, without asking the expert again.
With a run's Scene Memory (`tools.memory`) they are also shared with the other questions on
the same scene and split, keyed by the frames' content; each tool call's ledger records what
came from there and how many experts it asked. The encoded evidence of the sample's calls is
kept here, by sha256, for the loop to send: the trajectory only names it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, TypeVar

import numpy as np

from skill3d_eval.records import MemoryRecall, ObservationMemory, Sample
from skill3d_eval.experts import DepthResult, DetectionResult, Experts, NovelViewResult, ReconstructionResult, SegmentationResult, SuperResolutionResult
from skill3d_eval.tools.errors import ToolError
from skill3d_eval.tools.memory import MemoryKey, MemoryScope, RememberedObservation, SceneMemoryStore

T = TypeVar("T")


@dataclass
class CallLedger:
    """What one tool call cost: expert requests made, and results Scene Memory supplied."""

    expert_calls: int = 0
    reused_from: str | None = None
    recalls: list[MemoryRecall] = field(default_factory=list)

    def recall(self, kind: Literal["observation", "expert"], name: str, frames: tuple[str, ...], source: str) -> None:
        """Recalls of one expert from one source question are merged into one record (its frames listed once)."""
        for recalled in self.recalls:
            if (recalled.kind, recalled.name, recalled.source_sample_id) == (kind, name, source):
                recalled.frames.extend(frame for frame in frames if frame not in recalled.frames)
                return
        self.recalls.append(MemoryRecall(kind=kind, name=name, frames=list(dict.fromkeys(frames)), source_sample_id=source))

    def memory(self) -> ObservationMemory:
        return ObservationMemory(reused=self.reused_from is not None, source_sample_id=self.reused_from, recalls=self.recalls)


class ToolContext:
    """`memory`: the run's Scene Memory; used for samples that name their scene."""

    def __init__(self, sample: Sample, experts: Experts, memory: SceneMemoryStore | None = None):
        self.sample = sample
        self.experts = experts
        self.memory = memory if sample.scene else None
        self._memo: dict[Hashable, Any] = {}
        self.expert_calls = 0
        self.evidence: dict[str, bytes] = {}  # sha256 -> encoded image (tools.visuals)
        self._ledger: CallLedger | None = None
        self._posed_by: ReconstructionResult | None = None

    @property
    def frame_count(self) -> int:
        return len(self.sample.frames)

    @cached_property
    def frame_hashes(self) -> tuple[str, ...]:
        """What Scene Memory keys by; hashed once per question."""
        return self.sample.frame_hashes

    @property
    def scope(self) -> MemoryScope | None:
        sample = self.sample
        return MemoryScope(sample.task, sample.split, sample.scene) if self.memory is not None and sample.scene else None

    def frame(self, index: int) -> np.ndarray:
        if not 0 <= index < self.frame_count:
            raise ToolError(f"image index {index} is out of range: this question has images 0..{self.frame_count - 1}")
        return self.sample.frames[index]

    def depth(self, index: int) -> DepthResult:
        frame = self.frame(index)
        return self._once("depth", (index,), (), lambda: self.experts.depth(frame))

    def segment(self, index: int, prompt: str) -> SegmentationResult:
        frame = self.frame(index)
        return self._once("segmentation", (index,), (prompt.strip().lower(),), lambda: self.experts.segment(frame, prompt))

    def segment_boxes(self, index: int, boxes: np.ndarray) -> SegmentationResult:
        """One mask per pixel box (x1, y1, x2, y2) of image `index`."""
        frame = self.frame(index)
        key = tuple(tuple(round(float(v), 2) for v in box) for box in boxes)
        return self._once("segmentation", (index,), ("boxes", key), lambda: self.experts.segment(frame, boxes=[list(box) for box in key]))

    def detect(self, index: int, categories: list[str]) -> DetectionResult:
        frame = self.frame(index)
        return self._once("detection", (index,), tuple(categories), lambda: self.experts.detect(frame, categories))

    def super_resolve(self, index: int, box: tuple[int, int, int, int]) -> SuperResolutionResult:
        """The crop `box` (x1, y1, x2, y2, integer pixels, already checked) of image `index`, enlarged."""
        frame = self.frame(index)
        x1, y1, x2, y2 = box
        return self._once("super_resolution", (index,), box, lambda: self.experts.super_resolve(frame[y1:y2, x1:x2]))

    def novel_view(self, azimuth_deg: float, elevation_deg: float) -> NovelViewResult:
        if self.frame_count == 0:
            raise ToolError("this question has no images")
        every = tuple(range(self.frame_count))
        return self._once("novel_view", every, (azimuth_deg, elevation_deg), lambda: self.experts.render_view(self.sample.frames, azimuth_deg, elevation_deg))

    def cameras(self) -> ReconstructionResult:
        if self.frame_count == 0:
            raise ToolError("this question has no images")
        if self._posed_by is not None:
            return self._posed_by
        return self._once("reconstruction", tuple(range(self.frame_count)), (), lambda: self.experts.reconstruct(self.sample.frames))

    @contextlib.contextmanager
    def posed_by(self, cameras: ReconstructionResult) -> Iterator[None]:
        """Inside it `cameras()` answers with other poses (the depth-checked ones of `tools.pose_check`),
        so the geometry built on them is the same code whichever source the caller chose."""
        previous, self._posed_by = self._posed_by, cameras
        try:
            yield
        finally:
            self._posed_by = previous

    def point_maps(self) -> np.ndarray:
        """The reconstruction's point map of every image [N,H,W,3], metres, in image 0's camera frame."""
        if self.frame_count == 0:
            raise ToolError("this question has no images")
        if self._posed_by is not None:
            raise ToolError("the reconstruction's point maps do not go with poses from elsewhere: use geometry='depth'")
        result = self._once("reconstruction", tuple(range(self.frame_count)), ("points",), lambda: self.experts.reconstruct(self.sample.frames, points=True))
        if result.points is None:
            raise ToolError("the reconstruction expert returned no point maps")
        return result.points

    @contextlib.contextmanager
    def ledger(self) -> Iterator[CallLedger]:
        """Accounts the expert requests and memory recalls of the tool call run inside it."""
        self._ledger = ledger = CallLedger()
        try:
            yield ledger
        finally:
            self._ledger = None

    def observation(self, tool: str, arguments: dict[str, Any], compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The tool's result: remembered from an earlier question's identical call on the same
        frames, or `compute()`d (and remembered). Without Scene Memory always computed."""
        scope = self.scope
        if scope is None:
            return compute()
        key = MemoryKey(scope, "observation", tool, self.frame_hashes, json.dumps(arguments, sort_keys=True, separators=(",", ":")))
        content, source = self.memory.recall(key, compute, self.sample.sample_id)
        if source is not None and self._ledger is not None:
            self._ledger.reused_from = source
            self._ledger.recall("observation", tool, self.frame_hashes, source)
        return content

    def remembered_observations(self) -> list[RememberedObservation]:
        """What earlier questions' tools established about this scene on these very frames."""
        scope = self.scope
        return self.memory.observations(scope, self.frame_hashes) if scope is not None else []

    def _once(self, expert: str, frames: tuple[int, ...], arguments: Hashable, compute: Callable[[], T]) -> T:
        key = (expert, frames, arguments)
        if key in self._memo:
            return self._memo[key]
        scope = self.scope
        if scope is None:
            value, source = compute(), None
        else:
            hashes = tuple(self.frame_hashes[i] for i in frames)
            value, source = self.memory.recall(MemoryKey(scope, "expert", expert, hashes, repr(arguments)), compute, self.sample.sample_id)
        if source is None:
            self.expert_calls += 1
            if self._ledger is not None:
                self._ledger.expert_calls += 1
        elif self._ledger is not None:
            self._ledger.recall("expert", expert, tuple(self.frame_hashes[i] for i in frames), source)
        self._memo[key] = value
        return value
