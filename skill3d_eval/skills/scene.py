"""Scene descriptors: what kind of room a question is about, from the sample and cheap first evidence.

Which workflow answers best depends on the scene (metric depth degrades with distance, text
prompts merge objects standing close together, ...), so skills are keyed by scene cluster as
well as task, and retrieval ranks by how close the question's scene is to the scenes a skill
won on. The descriptor must be cheap: it reads the depth of a few images and the reconstructed
cameras (which the tools ask for anyway, so Scene Memory serves them again) and the sample
itself, never the ground truth.

Features, each with the scale that makes one unit of difference "a different kind of scene":
- `frames`: images the question comes with (1 for CV-Bench, 2 for BLINK / MMSI, a video's 16-32);
- `room_scale_m`: median over the probed images of the 90th-percentile depth (how far the walls are);
- `clutter`: share of depth pixels on an occlusion edge (a jump of more than 10 % to a neighbour),
  i.e. how much of the view is object silhouettes;
- `camera_path_m`: how far the camera gets from where it started (the reconstruction's poses:
  short paths give multi-view methods little parallax).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from skill3d_eval.tools.context import ToolContext

FEATURE_SCALES = {"frames": 8.0, "room_scale_m": 1.0, "clutter": 0.02, "camera_path_m": 1.0}
PROBE_IMAGES = 3
EDGE_JUMP = 0.10


class SceneDescriptor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    frames: int = Field(ge=0)
    room_scale_m: float = Field(ge=0)
    clutter: float = Field(ge=0, le=1)
    camera_path_m: float = Field(0.0, ge=0)

    def vector(self) -> np.ndarray:
        """Features in units of their scales (what distances and clusters are computed on)."""
        return np.array([getattr(self, name) / scale for name, scale in FEATURE_SCALES.items()], dtype=np.float64)

    @classmethod
    def from_vector(cls, vector: Sequence[float]) -> SceneDescriptor:
        values = {name: float(v) * scale for (name, scale), v in zip(FEATURE_SCALES.items(), vector, strict=True)}
        return cls(
            frames=round(values["frames"]), room_scale_m=round(values["room_scale_m"], 3),
            clutter=round(min(1.0, max(0.0, values["clutter"])), 4), camera_path_m=round(max(0.0, values["camera_path_m"]), 3),
        )

    def describe(self) -> str:
        """In words, for lessons and reports."""
        size = "large" if self.room_scale_m >= 6.5 else "small" if self.room_scale_m < 5.0 else "medium"
        busy = "cluttered" if self.clutter >= 0.012 else "sparse"
        return (f"{size} room ({self.room_scale_m:.1f} m to the walls), {busy} (clutter {self.clutter:.3f}), "
                f"camera path {self.camera_path_m:.1f} m, {self.frames} images")


def describe_scene(context: ToolContext) -> SceneDescriptor:
    """The descriptor of the question's scene: depth of up to PROBE_IMAGES images spread over the video."""
    count = context.frame_count
    if count == 0:
        return SceneDescriptor(frames=0, room_scale_m=0.0, clutter=0.0)
    probes = sorted({round(i * (count - 1) / max(1, PROBE_IMAGES - 1)) for i in range(min(PROBE_IMAGES, count))})
    scales, clutters = [], []
    for index in probes:
        depth = context.depth(index).depth
        valid = np.isfinite(depth) & (depth > 0)
        if not valid.any():
            continue
        scales.append(float(np.percentile(depth[valid], 90)))
        clutters.append(_edge_share(depth, valid))
    if not scales:
        return SceneDescriptor(frames=count, room_scale_m=0.0, clutter=0.0)
    path = float(np.linalg.norm(context.cameras().poses_c2w[:, :3, 3], axis=1).max()) if count > 1 else 0.0
    return SceneDescriptor(
        frames=count, room_scale_m=round(float(np.median(scales)), 3), clutter=round(float(np.median(clutters)), 4), camera_path_m=round(path, 3)
    )


def _edge_share(depth: np.ndarray, valid: np.ndarray) -> float:
    safe = np.where(valid, depth, np.nan)
    right = np.abs(safe[:, 1:] - safe[:, :-1]) / np.fmin(safe[:, 1:], safe[:, :-1])
    down = np.abs(safe[1:, :] - safe[:-1, :]) / np.fmin(safe[1:, :], safe[:-1, :])
    edges = np.zeros(depth.shape, dtype=bool)
    edges[:, 1:] |= np.nan_to_num(right) > EDGE_JUMP
    edges[1:, :] |= np.nan_to_num(down) > EDGE_JUMP
    return float(edges[valid].mean())


def similarity(a: SceneDescriptor, b: SceneDescriptor) -> float:
    """exp(-d²/2) of the scaled distance: 1 for the same kind of scene, ~0.6 one scale apart."""
    return math.exp(-0.5 * float(np.sum((a.vector() - b.vector()) ** 2)))


def cluster_scenes(descriptors: Sequence[SceneDescriptor], k: int, seed: int = 0, iterations: int = 50) -> tuple[list[SceneDescriptor], list[int]]:
    """k-means (k-means++ seeding, seeded) on the scaled features: (centroids, cluster of each descriptor).

    Fewer distinct scenes than `k` give as many clusters as there are scenes."""
    if not descriptors:
        return [], []
    points = np.stack([d.vector() for d in descriptors])
    k = min(k, len(np.unique(points, axis=0)))
    rng = np.random.default_rng(seed)
    centers = [points[rng.integers(len(points))]]
    while len(centers) < k:
        gaps = np.min(((points[:, None, :] - np.array(centers)[None]) ** 2).sum(axis=2), axis=1)
        centers.append(points[rng.choice(len(points), p=gaps / gaps.sum())])
    centroids = np.array(centers)
    for _ in range(iterations):
        labels = np.argmin(((points[:, None, :] - centroids[None]) ** 2).sum(axis=2), axis=1)
        moved = np.array([points[labels == c].mean(axis=0) if (labels == c).any() else centroids[c] for c in range(k)])
        if np.allclose(moved, centroids):
            break
        centroids = moved
    labels = np.argmin(((points[:, None, :] - centroids[None]) ** 2).sum(axis=2), axis=1)
    return [SceneDescriptor.from_vector(c) for c in centroids], labels.tolist()
