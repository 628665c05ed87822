"""What a tool may touch for one sample: that sample's frames and the experts, nothing else.

Image references from the model are indices into the sample's own frames, checked here, so a
model can never make a tool read a path or URL. Expert results are memoised per sample: the
spatial tools ask for the same depth map or camera poses several times, and a tool's visual
evidence is drawn from the very result its JSON reports, without asking the expert again.
The encoded evidence of the sample's calls is kept here, by sha256, for the loop to send:
the trajectory only names it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np

from skill3d_eval.records import Sample
from skill3d_eval.experts import DepthResult, DetectionResult, Experts, NovelViewResult, ReconstructionResult, SegmentationResult, SuperResolutionResult
from skill3d_eval.tools.errors import ToolError

T = TypeVar("T")


class ToolContext:
    def __init__(self, sample: Sample, experts: Experts):
        self.sample = sample
        self.experts = experts
        self._memo: dict[Hashable, Any] = {}
        self.expert_calls = 0
        self.evidence: dict[str, bytes] = {}  # sha256 -> encoded image (tools.visuals)

    @property
    def frame_count(self) -> int:
        return len(self.sample.frames)

    def frame(self, index: int) -> np.ndarray:
        if not 0 <= index < self.frame_count:
            raise ToolError(f"image index {index} is out of range: this question has images 0..{self.frame_count - 1}")
        return self.sample.frames[index]

    def depth(self, index: int) -> DepthResult:
        frame = self.frame(index)
        return self._once(("depth", index), lambda: self.experts.depth(frame))

    def segment(self, index: int, prompt: str) -> SegmentationResult:
        frame = self.frame(index)
        return self._once(("segment", index, prompt.strip().lower()), lambda: self.experts.segment(frame, prompt))

    def detect(self, index: int, categories: list[str]) -> DetectionResult:
        frame = self.frame(index)
        return self._once(("detect", index, tuple(categories)), lambda: self.experts.detect(frame, categories))

    def super_resolve(self, index: int, box: tuple[int, int, int, int]) -> SuperResolutionResult:
        """The crop `box` (x1, y1, x2, y2, integer pixels, already checked) of image `index`, enlarged."""
        frame = self.frame(index)
        x1, y1, x2, y2 = box
        return self._once(("super_resolve", index, box), lambda: self.experts.super_resolve(frame[y1:y2, x1:x2]))

    def novel_view(self, azimuth_deg: float, elevation_deg: float) -> NovelViewResult:
        if self.frame_count == 0:
            raise ToolError("this question has no images")
        return self._once(("novel_view", azimuth_deg, elevation_deg), lambda: self.experts.render_view(self.sample.frames, azimuth_deg, elevation_deg))

    def cameras(self) -> ReconstructionResult:
        if self.frame_count == 0:
            raise ToolError("this question has no images")
        return self._once(("reconstruct",), lambda: self.experts.reconstruct(self.sample.frames))

    def _once(self, key: Hashable, compute: Callable[[], T]) -> T:
        if key not in self._memo:
            self.expert_calls += 1
            self._memo[key] = compute()
        return self._memo[key]
