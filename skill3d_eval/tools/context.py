"""What a tool may touch for one sample: that sample's frames and the experts, nothing else.

Image references from the model are indices into the sample's own frames, checked here, so a
model can never make a tool read a path or URL. Expert results are memoised per sample: the
spatial tools ask for the same depth map or camera poses several times.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np

from skill3d_eval.records import Sample
from skill3d_eval.experts import DepthResult, Experts, ReconstructionResult, SegmentationResult
from skill3d_eval.tools.errors import ToolError

T = TypeVar("T")


class ToolContext:
    def __init__(self, sample: Sample, experts: Experts):
        self.sample = sample
        self.experts = experts
        self._memo: dict[Hashable, Any] = {}
        self.expert_calls = 0

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

    def cameras(self) -> ReconstructionResult:
        if self.frame_count == 0:
            raise ToolError("this question has no images")
        return self._once(("reconstruct",), lambda: self.experts.reconstruct(self.sample.frames))

    def _once(self, key: Hashable, compute: Callable[[], T]) -> T:
        if key not in self._memo:
            self.expert_calls += 1
            self._memo[key] = compute()
        return self._memo[key]
