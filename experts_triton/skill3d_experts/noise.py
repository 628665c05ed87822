"""Seeded, configurable errors for the oracle backends, so agents can be tested against imperfect experts.

Noise is drawn from a generator keyed by (seed, model, purpose, frame key, ...), never from a
stream consumed in request order: the same frame gets the same error whatever the batching,
the concurrency or the number of model instances, so a noisy run is exactly reproducible and
its results are safe to cache. Every level defaults to 0 (exact ground truth).

Config parameters (strings, as all Triton parameters):

| key | meaning | used by |
| --- | --- | --- |
| `noise_seed` | integer seed (default 0) | all |
| `depth_scale_error` | σ of a per-frame log-normal scale factor on depth (0.1 ≈ ±10 %) | depth, reconstruction |
| `box_jitter_px` | σ in pixels of Gaussian jitter on each box corner (clipped to the image) | detection |
| `miss_rate` | probability in [0, 1] that a detection is dropped | detection |
| `pose_noise_deg`, `pose_noise_m` | σ of a random rotation / translation on every view but the first | reconstruction |
| `angle_noise_deg` | σ of Gaussian noise on azimuth / elevation / rotation | orientation |

Scene-dependent failure modes: the same expert is good in one kind of room and bad in another,
as real ones are, so that which workflow answers best depends on the scene (issue 15). They are
deterministic functions of what the frame shows (or seeded per scene), documented here so a
result can be traced to its cause:

| key | failure | used by |
| --- | --- | --- |
| `depth_error_per_m`, `depth_range_m` | metric depth is right for views within its range and overestimates views beyond it: a frame whose median depth m exceeds the range is scaled by 1 + k·(m − range) (k = 0.1, range 4 m: a view 5 m deep reads 10 % too far), so large rooms suffer | depth |
| `depth_object_error_per_m` | beyond the same range, depth judges each object by its apparent size against what the model expects of its category, so every object reads at its own wrong distance: in a view whose median depth m exceeds `depth_range_m`, an object's pixels are scaled by exp(σ·n), σ = k·(m − range), n drawn once per (scene, object), on top of the view's bias. Which of two far objects is nearer, or nearer to a third, can come out wrong; the room's own surfaces keep the view's bias only (k 0.25, range 4 m: in a view 6 m deep, one object in three reads at least 40 % off) | depth |
| `reconstruction_drift`, `reconstruction_baseline_m` | multi-view point maps come out scaled by 1 ± drift·√(16 / views)·max(0, B − baseline) about the first camera (B: the baseline the reconstruction needs; baseline: the largest distance of a camera from the first; sign seeded per first frame): one consistent error per scene, none for a camera path that reaches B, larger with fewer views and the shorter the path, as when parallax is small (drift 0.2, B 4 m: a 3 m baseline reads 20 % off; a shrinking scale stops at 0.1). The mirror image of the depth range: reconstruction fails in the small rooms that depth gets right | reconstruction (point maps) |
| `two_view_flip_rate` | a reconstruction from exactly two views returns the second camera on the wrong side of the first (its translation reversed, its rotation right: the decomposition's other solution) with probability rate·max(0, 1 − baseline / B), B = `reconstruction_baseline_m`, seeded per pair of views. Two views are all BLINK and MMSI-Bench give, and with little parallax nothing else tells the two solutions apart; more views fix it, so video questions never see it (rate 0.6, B 4 m: a 1 m step reverses 45 % of the time, a 3 m one 15 %) | reconstruction (poses and point maps) |
| `merge_gap_px`, `merge_min_instances` | in a view showing at least `merge_min_instances` objects (any category), a text-prompted segmentation returns same-category instances whose boxes come within `merge_gap_px` pixels of each other as one instance (chairs around a table become one mask): clutter merges objects | segmentation (text prompts) |
| `detection_min_area_px` | detection drops instances showing fewer visible pixels than this (small, distant or occluded objects) | detection |
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from skill3d_experts._triton import float_param


@dataclass(frozen=True)
class OracleNoise:
    seed: int = 0
    depth_scale_error: float = 0.0
    box_jitter_px: float = 0.0
    miss_rate: float = 0.0
    pose_noise_deg: float = 0.0
    pose_noise_m: float = 0.0
    angle_noise_deg: float = 0.0
    depth_error_per_m: float = 0.0
    depth_range_m: float = 0.0
    depth_object_error_per_m: float = 0.0
    reconstruction_drift: float = 0.0
    reconstruction_baseline_m: float = 0.0
    two_view_flip_rate: float = 0.0
    merge_gap_px: float = 0.0
    merge_min_instances: float = 0.0
    detection_min_area_px: float = 0.0

    @classmethod
    def from_params(cls, model: str, params: Mapping[str, str]) -> OracleNoise:
        seed = params.get("noise_seed", "").strip() or "0"
        if not seed.lstrip("-").isdigit():
            raise ValueError(f"{model}: config parameter 'noise_seed' must be an integer, got {seed!r}")
        miss_rate = float_param(model, params, "miss_rate", 0.0)
        flip_rate = float_param(model, params, "two_view_flip_rate", 0.0)
        for key, value in (("miss_rate", miss_rate), ("two_view_flip_rate", flip_rate)):
            if value > 1:
                raise ValueError(f"{model}: config parameter {key!r} must be in [0, 1], got {value:g}")
        return cls(
            seed=int(seed),
            depth_scale_error=float_param(model, params, "depth_scale_error", 0.0),
            box_jitter_px=float_param(model, params, "box_jitter_px", 0.0),
            miss_rate=miss_rate,
            pose_noise_deg=float_param(model, params, "pose_noise_deg", 0.0),
            pose_noise_m=float_param(model, params, "pose_noise_m", 0.0),
            angle_noise_deg=float_param(model, params, "angle_noise_deg", 0.0),
            depth_error_per_m=float_param(model, params, "depth_error_per_m", 0.0),
            depth_range_m=float_param(model, params, "depth_range_m", 0.0),
            depth_object_error_per_m=float_param(model, params, "depth_object_error_per_m", 0.0),
            reconstruction_drift=float_param(model, params, "reconstruction_drift", 0.0),
            reconstruction_baseline_m=float_param(model, params, "reconstruction_baseline_m", 0.0),
            two_view_flip_rate=flip_rate,
            merge_gap_px=float_param(model, params, "merge_gap_px", 0.0),
            merge_min_instances=float_param(model, params, "merge_min_instances", 0.0),
            detection_min_area_px=float_param(model, params, "detection_min_area_px", 0.0),
        )

    @property
    def enabled(self) -> bool:
        return any(value for key, value in asdict(self).items() if key != "seed")

    def describe(self) -> dict[str, float]:
        """The non-zero levels and the seed, for META (empty when the oracle is exact)."""
        return {key: value for key, value in asdict(self).items() if value or key == "seed"} if self.enabled else {}

    def rng(self, *key: object) -> np.random.Generator:
        """A generator that depends only on the seed and `key` (model, purpose, frame key, ...)."""
        digest = hashlib.sha256(repr((self.seed, *key)).encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:16], "little"))

    def depth_scale(self, frame_key: str) -> float:
        if not self.depth_scale_error:
            return 1.0
        return float(np.exp(self.depth_scale_error * self.rng("depth_scale", frame_key).standard_normal()))

    def jitter_boxes(self, boxes: np.ndarray, frame_key: str, prompt: str, width: int, height: int) -> np.ndarray:
        if not self.box_jitter_px or len(boxes) == 0:
            return boxes
        jitter = self.box_jitter_px * self.rng("box_jitter", frame_key, prompt).standard_normal(boxes.shape)
        moved = boxes + jitter.astype(np.float32)
        moved[:, [0, 2]] = np.clip(moved[:, [0, 2]], 0, width)
        moved[:, [1, 3]] = np.clip(moved[:, [1, 3]], 0, height)
        return moved.astype(np.float32)

    def kept(self, count: int, frame_key: str, prompt: str) -> np.ndarray:
        """Boolean mask of the detections that survive `miss_rate`."""
        if not self.miss_rate:
            return np.ones(count, dtype=bool)
        return self.rng("miss", frame_key, prompt).random(count) >= self.miss_rate

    def bias_depth(self, depth: np.ndarray, instances: np.ndarray | None = None, scene: str = "") -> np.ndarray:
        """Views deeper than the range read too far: d -> d·(1 + depth_error_per_m·max(0, median(d) − depth_range_m)),
        and each object in them (`instances`: ids > 0) by its own further factor exp(depth_object_error_per_m·(median(d) − depth_range_m)·n)."""
        if not (self.depth_error_per_m or self.depth_object_error_per_m):
            return depth
        valid = depth[np.isfinite(depth) & (depth > 0)]
        beyond = max(0.0, float(np.median(valid)) - self.depth_range_m) if valid.size else 0.0
        biased = depth * np.float32(1 + self.depth_error_per_m * beyond)
        if self.depth_object_error_per_m and beyond > 0 and instances is not None:
            sigma = self.depth_object_error_per_m * beyond
            for instance in np.unique(instances[instances > 0]):
                factor = np.exp(sigma * self.rng("depth_object", scene, int(instance)).standard_normal())
                biased[instances == instance] *= np.float32(factor)
        return biased.astype(np.float32)

    def reconstruction_scale(self, frame_keys: Sequence[str], baseline_m: float) -> float:
        """One scale error per scene (seeded by its first view): none once the camera path reaches
        `reconstruction_baseline_m`, growing per metre short of it and with fewer views."""
        short = max(0.0, self.reconstruction_baseline_m - baseline_m)
        if not self.reconstruction_drift or not short or not frame_keys:
            return 1.0
        sign = 1.0 if self.rng("reconstruction_drift", frame_keys[0]).random() < 0.5 else -1.0
        return max(0.1, 1.0 + sign * self.reconstruction_drift * float(np.sqrt(16 / len(frame_keys))) * short)  # a scale, never 0 or a mirror

    def two_view_flipped(self, frame_keys: Sequence[str], baseline_m: float) -> bool:
        """Whether a two-view reconstruction returns the reversed translation: likelier the shorter
        the baseline falls of `reconstruction_baseline_m`, drawn once per pair of views."""
        if not self.two_view_flip_rate or len(frame_keys) != 2 or not self.reconstruction_baseline_m:
            return False
        chance = self.two_view_flip_rate * max(0.0, 1.0 - baseline_m / self.reconstruction_baseline_m)
        return bool(self.rng("two_view_flip", *frame_keys).random() < chance)

    def merged_instances(self, instances: np.ndarray, ids: list[int]) -> list[list[int]]:
        """Groups of `ids` a text-prompted segmentation returns as one instance: in a view showing
        at least `merge_min_instances` objects, those whose boxes come within `merge_gap_px` of
        each other, transitively."""
        if not self.merge_gap_px or len(ids) < 2:
            return [[i] for i in ids]
        if self.merge_min_instances and len(np.unique(instances[instances > 0])) < self.merge_min_instances:
            return [[i] for i in ids]
        boxes = []
        for i in ids:
            rows, cols = np.nonzero(instances == i)
            boxes.append((cols.min(), rows.min(), cols.max() + 1, rows.max() + 1))
        parent = list(range(len(ids)))

        def root(k: int) -> int:
            while parent[k] != k:
                k = parent[k]
            return k

        gap = self.merge_gap_px
        for a in range(len(ids)):
            for b in range(a + 1, len(ids)):
                (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = boxes[a], boxes[b]
                if max(bx1 - ax2, ax1 - bx2, by1 - ay2, ay1 - by2) <= gap:
                    parent[root(b)] = root(a)
        groups: dict[int, list[int]] = {}
        for k, i in enumerate(ids):
            groups.setdefault(root(k), []).append(i)
        return list(groups.values())

    def detectable(self, instances: np.ndarray, ids: list[int]) -> list[int]:
        """The `ids` showing at least `detection_min_area_px` pixels."""
        if not self.detection_min_area_px:
            return ids
        return [i for i in ids if int((instances == i).sum()) >= self.detection_min_area_px]

    def perturb_pose(self, pose: np.ndarray, frame_key: str) -> np.ndarray:
        if not (self.pose_noise_deg or self.pose_noise_m):
            return pose
        rng = self.rng("pose", frame_key)
        axis_angle = np.deg2rad(self.pose_noise_deg) * rng.standard_normal(3)
        noisy = np.array(pose, dtype=np.float64)
        noisy[:3, :3] = rotation_from_axis_angle(axis_angle) @ noisy[:3, :3]
        noisy[:3, 3] += self.pose_noise_m * rng.standard_normal(3)
        return noisy.astype(np.float32)

    def perturb_angles(self, angles: np.ndarray, frame_key: str, box: tuple[float, ...]) -> np.ndarray:
        if not self.angle_noise_deg:
            return angles
        return (angles + self.angle_noise_deg * self.rng("angles", frame_key, box).standard_normal(3)).astype(np.float32)


def rotation_from_axis_angle(axis_angle: np.ndarray) -> np.ndarray:
    """Rodrigues' formula."""
    angle = float(np.linalg.norm(axis_angle))
    if angle < 1e-12:
        return np.eye(3)
    x, y, z = axis_angle / angle
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)
