"""Metric depth expert: `IMAGE` UINT8 [B,H,W,3] → `DEPTH` FP32 [B,H,W], `INTRINSICS` FP32 [B,3,3], `META`.

Depth is metric z-depth in metres along the OpenCV camera's optical axis (not ray length);
intrinsics are the pinhole K of the same camera in pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from skill3d_experts._triton import ExpertModel, InvalidInput, check_image, meta_tensor_value
from skill3d_experts.oracle import OracleTruths, oracle_root_param
from skill3d_experts.oracle_store import OracleStore


@dataclass
class DepthPrediction:
    depth: np.ndarray  # float32 [H,W], metres
    intrinsics: np.ndarray  # float32 [3,3]
    meta: dict[str, Any] = field(default_factory=dict)


class OracleDepth:
    """Answers with the stored truth of the very frame it is sent."""

    def __init__(self, store: OracleStore):
        self.truths = OracleTruths(store)

    @classmethod
    def from_params(cls, params: dict[str, str]) -> OracleDepth:
        return cls(OracleStore(oracle_root_param("depth", params)))

    def predict(self, image: np.ndarray) -> DepthPrediction:
        image = check_image(image)
        key, truth = self.truths.get(image)
        if truth.depth.shape != image.shape[:2]:
            raise ValueError(f"stored depth {truth.depth.shape} does not match the image {image.shape[:2]}")
        return DepthPrediction(
            depth=truth.depth,
            intrinsics=truth.intrinsics,
            meta={"frame_key": key, "scene": truth.scene, "frame_index": truth.frame_index},
        )


class TritonPythonModel(ExpertModel):
    name = "depth"
    backends: ClassVar[dict[str, Callable[[dict[str, str]], Any]]] = {"oracle": OracleDepth.from_params}

    def outputs(self, request: Any) -> dict[str, np.ndarray]:
        images = self.input(request, "IMAGE")
        if images.ndim != 4:
            raise InvalidInput(f"IMAGE must be UINT8 [B,H,W,3], got shape {list(images.shape)}")
        predictions = [self.backend.predict(image) for image in images]
        return {
            "DEPTH": np.stack([p.depth for p in predictions]),
            "INTRINSICS": np.stack([p.intrinsics for p in predictions]),
            "META": np.stack([meta_tensor_value({**self.base_meta(), **p.meta}) for p in predictions]),
        }
