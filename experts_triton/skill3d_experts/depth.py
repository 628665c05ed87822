"""Metric depth expert: `IMAGE` UINT8 [B,H,W,3] → `DEPTH` FP32 [B,H,W], `INTRINSICS` FP32 [B,3,3], `META`.

Depth is metric z-depth in metres along the OpenCV camera's optical axis (not ray length);
intrinsics are the pinhole K of the same camera in pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from skill3d_experts._triton import ExpertModel, InvalidInput, check_image, float_param, meta_tensor_value
from skill3d_experts.checkpoint import checkpoint_dir, configure_torch
from skill3d_experts.noise import OracleNoise
from skill3d_experts.oracle import OracleTruths, oracle_root_param
from skill3d_experts.oracle_store import OracleStore


@dataclass
class DepthPrediction:
    depth: np.ndarray  # float32 [H,W], metres
    intrinsics: np.ndarray  # float32 [3,3]
    meta: dict[str, Any] = field(default_factory=dict)


class OracleDepth:
    """Answers with the stored truth of the very frame it is sent (with the seeded scale error and
    the distance-growing bias of `OracleNoise`, if set)."""

    def __init__(self, store: OracleStore, noise: OracleNoise | None = None):
        self.truths = OracleTruths(store)
        self.noise = noise or OracleNoise()

    @classmethod
    def from_params(cls, params: dict[str, str]) -> OracleDepth:
        return cls(OracleStore(oracle_root_param("depth", params)), OracleNoise.from_params("depth", params))

    def predict(self, image: np.ndarray) -> DepthPrediction:
        image = check_image(image)
        key, truth = self.truths.get(image)
        if truth.depth.shape != image.shape[:2]:
            raise ValueError(f"stored depth {truth.depth.shape} does not match the image {image.shape[:2]}")
        scale = self.noise.depth_scale(key)
        depth = self.noise.bias_depth(truth.depth, truth.instances, truth.scene)
        meta: dict[str, Any] = {"frame_key": key, "scene": truth.scene, "frame_index": truth.frame_index}
        if self.noise.enabled:
            meta["noise"] = {**self.noise.describe(), "applied_depth_scale": scale}
        return DepthPrediction(
            depth=depth if scale == 1.0 else (depth * np.float32(scale)).astype(np.float32),
            intrinsics=truth.intrinsics,
            meta=meta,
        )

    def predict_batch(self, images: list[np.ndarray]) -> list[DepthPrediction | Exception]:
        return [ExpertModel.attempt(self.predict, image) for image in images]


def pinhole(width: int, height: int, horizontal_fov_deg: float) -> np.ndarray:
    """K of a centred pinhole with square pixels and the given horizontal field of view."""
    focal = (width / 2) / np.tan(np.deg2rad(horizontal_fov_deg) / 2)
    return np.array([[focal, 0, (width - 1) / 2], [0, focal, (height - 1) / 2], [0, 0, 1]], dtype=np.float32)


class RealDepth:
    """A metric Depth Anything checkpoint (transformers `DepthAnythingForDepthEstimation`, config
    `depth_estimation_type: metric`) with its own image processor; one forward pass per group of
    equal-size images. The network predicts no intrinsics: K assumes the `fov_deg` parameter
    (horizontal field of view, default 60)."""

    ACCEPTED = ("depth_anything",)

    def __init__(self, checkpoint: Path, fov_deg: float = 60.0, device: str = "cpu"):
        import torch
        from transformers import AutoConfig, AutoImageProcessor, DepthAnythingForDepthEstimation

        config = AutoConfig.from_pretrained(checkpoint)
        if config.model_type not in self.ACCEPTED or getattr(config, "depth_estimation_type", "") != "metric":
            raise ValueError(
                f"depth: checkpoint {str(checkpoint)!r} is a {config.model_type!r} "
                f"({getattr(config, 'depth_estimation_type', '?')}) model; backend 'real' needs a metric depth_anything checkpoint"
            )
        self.torch = torch
        self.processor = AutoImageProcessor.from_pretrained(checkpoint)
        self.device = device
        self.model = DepthAnythingForDepthEstimation.from_pretrained(checkpoint).eval().to(device)
        self.fov_deg = fov_deg
        self.checkpoint = checkpoint

    @classmethod
    def from_params(cls, params: dict[str, str]) -> RealDepth:
        configure_torch("depth", params)
        fov = float_param("depth", params, "fov_deg", 60.0, minimum=1.0)
        return cls(checkpoint_dir("depth", params), fov, params.get("device", "cpu"))

    def predict_batch(self, images: list[np.ndarray]) -> list[DepthPrediction | Exception]:
        answers: list[DepthPrediction | Exception | None] = [None] * len(images)
        groups: dict[tuple[int, ...], list[int]] = {}
        for index, image in enumerate(images):
            checked = ExpertModel.attempt(check_image, image)
            if isinstance(checked, Exception):
                answers[index] = checked
            else:
                groups.setdefault(checked.shape, []).append(index)
        for shape, members in groups.items():
            batch = [images[i] for i in members]
            inputs = self.processor(images=batch, return_tensors="pt", input_data_format="channels_last").to(self.device)
            with self.torch.inference_mode():
                outputs = self.model(**inputs)
            # the processor's post-processing (bicubic resize to the input size), done for the whole group at once
            depths = self.torch.nn.functional.interpolate(
                outputs.predicted_depth.unsqueeze(1), size=shape[:2], mode="bicubic", align_corners=False
            )[:, 0].cpu()
            intrinsics = pinhole(shape[1], shape[0], self.fov_deg)
            for index, depth in zip(members, depths):
                answers[index] = DepthPrediction(
                    depth=depth.float().numpy().astype(np.float32),
                    intrinsics=intrinsics,
                    meta={"checkpoint": self.checkpoint.name, "batch_size": len(batch), "fov_deg": self.fov_deg},
                )
        return answers  # type: ignore[return-value]


class TritonPythonModel(ExpertModel):
    """Batches the request list: every image of every request goes to one `predict_batch` call."""

    name = "depth"
    backends: ClassVar[dict[str, Callable[[dict[str, str]], Any]]] = {"oracle": OracleDepth.from_params, "real": RealDepth.from_params}

    def images(self, request: Any) -> np.ndarray:
        images = self.input(request, "IMAGE")
        if images.ndim != 4:
            raise InvalidInput(f"IMAGE must be UINT8 [B,H,W,3], got shape {list(images.shape)}")
        return images

    def answer(self, requests: list[Any]) -> list[dict[str, np.ndarray] | Exception]:
        return self.answer_items(requests, lambda request: list(self.images(request)), self.backend.predict_batch, self.pack)

    def pack(self, predictions: list[DepthPrediction]) -> dict[str, np.ndarray]:
        return {
            "DEPTH": np.stack([p.depth for p in predictions]),
            "INTRINSICS": np.stack([p.intrinsics for p in predictions]),
            "META": np.stack([meta_tensor_value({**self.base_meta(), **p.meta}) for p in predictions]),
        }
