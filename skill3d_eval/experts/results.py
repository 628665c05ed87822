"""Typed results of the experts, as the client hands them to tools (arrays, not dicts of lists)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class DepthResult:
    """Metric z-depth (metres, OpenCV camera: x right, y down, z forward) and the pinhole K."""

    depth: np.ndarray  # float32 [H,W]
    intrinsics: np.ndarray  # float32 [3,3]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SegmentationResult:
    """Instances of the prompted category; boxes are pixel x1,y1 (inclusive), x2,y2 (exclusive)."""

    masks: np.ndarray  # bool [N,H,W]
    boxes: np.ndarray  # float32 [N,4]
    scores: np.ndarray  # float32 [N]
    labels: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class ReconstructionResult:
    """Camera-to-world poses (OpenCV cameras, metres) in the first view's frame, and per-view K."""

    poses_c2w: np.ndarray  # float32 [N,4,4], poses_c2w[0] == identity
    intrinsics: np.ndarray  # float32 [N,3,3]
    meta: dict[str, Any] = field(default_factory=dict)
