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
    """Camera-to-world poses (OpenCV cameras, metres) in the first view's frame, and per-view K.

    `points` (when asked for) is the per-pixel point map in the same frame, NaN without depth.
    """

    poses_c2w: np.ndarray  # float32 [N,4,4], poses_c2w[0] == identity
    intrinsics: np.ndarray  # float32 [N,3,3]
    meta: dict[str, Any] = field(default_factory=dict)
    points: np.ndarray | None = None  # float32 [N,H,W,3]


@dataclass(frozen=True)
class NovelViewResult:
    """The scene rendered from a camera orbited about the point cloud (see experts_triton/README.md)."""

    image: np.ndarray  # uint8 [H,W,3]; black where no point lands
    pose_c2w: np.ndarray  # float32 [4,4], in the first view's frame
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DetectionResult:
    """Boxes (pixel x1,y1 inclusive, x2,y2 exclusive) for text prompts; `prompt_index[i]` names the prompt of box i."""

    boxes: np.ndarray  # float32 [N,4]
    scores: np.ndarray  # float32 [N]
    prompt_index: np.ndarray  # int32 [N]
    labels: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class SuperResolutionResult:
    image: np.ndarray  # uint8 [sH,sW,3]
    scale: int
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OrientationResult:
    """Where the camera sees the object from, in the object's frame (degrees), and a confidence in [0, 1]."""

    azimuth_deg: float  # [0, 360): 0 = from the front, 90 = from the object's left
    elevation_deg: float  # positive: seen from above
    rotation_deg: float  # in-image roll, counter-clockwise positive
    confidence: float
    meta: dict[str, Any] = field(default_factory=dict)
