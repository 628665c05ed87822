"""In-process experts computed from the pixels, for tests of what the tool layer asks of them.

Depth comes from each pixel's brightness and every view has its own camera along x, so results
are deterministic functions of the frames (as the oracle and real experts are) and the
requests each model answered are counted.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence

import numpy as np

from skill3d_eval.experts import DepthResult, ReconstructionResult


class PixelExperts:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _count(self, name: str) -> None:
        with self._lock:
            self.calls[name] += 1

    def depth(self, image: np.ndarray) -> DepthResult:
        self._count("depth")
        return DepthResult(depth=1.0 + image[..., 0].astype(np.float32) / 255, intrinsics=np.diag([50.0, 50.0, 1.0]).astype(np.float32))

    def reconstruct(self, images: Sequence[np.ndarray], *, points: bool = False) -> ReconstructionResult:
        self._count("reconstruction")
        poses = np.stack([np.eye(4, dtype=np.float32)] * len(images))
        poses[:, 0, 3] = np.arange(len(images), dtype=np.float32)
        return ReconstructionResult(poses_c2w=poses, intrinsics=np.stack([np.diag([50.0, 50.0, 1.0]).astype(np.float32)] * len(images)))
