"""Super-resolution expert: `IMAGE` UINT8 [H,W,3] → `IMAGE_SR` UINT8 [sH,sW,3], `META` (JSON with `scale`).

Agents send a crop of a small or distant object and read the enlarged crop. `scale` is the
integer config parameter `scale` (default 2). spatial_synth has no higher-resolution truth, so
the oracle backend is exact pixel replication (each pixel becomes an s×s block): sharp edges,
no invented detail, and values a test can check bit for bit. The `real` backend runs Swin2SR.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from skill3d_experts._triton import ExpertModel, check_image, float_param, meta_tensor_value
from skill3d_experts.checkpoint import checkpoint_dir, configure_torch

MAX_OUTPUT_PIXELS = 4096 * 4096


def scale_param(model: str, params: dict[str, str]) -> int:
    scale = float_param(model, params, "scale", 2.0, minimum=1.0)
    if scale != int(scale) or scale > 8:
        raise ValueError(f"{model}: config parameter 'scale' must be an integer in 1..8, got {params.get('scale')!r}")
    return int(scale)


@dataclass
class SuperResolutionPrediction:
    image: np.ndarray  # uint8 [sH,sW,3]
    meta: dict[str, Any] = field(default_factory=dict)


class OracleSuperResolution:
    def __init__(self, scale: int = 2):
        self.scale = scale

    @classmethod
    def from_params(cls, params: dict[str, str]) -> OracleSuperResolution:
        return cls(scale_param("super_resolution", params))

    def predict(self, image: np.ndarray) -> SuperResolutionPrediction:
        image = check_image(image)
        if image.shape[0] * image.shape[1] * self.scale**2 > MAX_OUTPUT_PIXELS:
            raise ValueError(f"{image.shape[1]}x{image.shape[0]} ×{self.scale} exceeds {MAX_OUTPUT_PIXELS} output pixels")
        enlarged = np.repeat(np.repeat(image, self.scale, axis=0), self.scale, axis=1)
        return SuperResolutionPrediction(image=enlarged, meta={"scale": self.scale, "input_size": list(image.shape[:2])})


class RealSuperResolution:
    """A Swin2SR checkpoint (transformers `Swin2SRForImageSuperResolution`, any `upscale`) with its
    image processor (`Swin2SRImageProcessorPil`: rescale to [0, 1], pad to the window size); the
    output is cropped back to `upscale` × the input, clamped and rounded to uint8. `scale` is the
    checkpoint's `upscale` (the `scale` parameter is ignored)."""

    ACCEPTED = ("swin2sr",)

    def __init__(self, checkpoint: Path, device: str = "cpu"):
        import torch
        from transformers import AutoConfig, AutoImageProcessor, Swin2SRForImageSuperResolution

        config = AutoConfig.from_pretrained(checkpoint)
        if config.model_type not in self.ACCEPTED:
            raise ValueError(f"super_resolution: checkpoint {str(checkpoint)!r} is a {config.model_type!r} model; backend 'real' needs swin2sr")
        self.torch = torch
        self.device = device
        self.processor = AutoImageProcessor.from_pretrained(checkpoint)
        self.model = Swin2SRForImageSuperResolution.from_pretrained(checkpoint).eval().to(device)
        self.scale = int(config.upscale)
        self.checkpoint = checkpoint

    @classmethod
    def from_params(cls, params: dict[str, str]) -> RealSuperResolution:
        configure_torch("super_resolution", params)
        return cls(checkpoint_dir("super_resolution", params), params.get("device", "cpu"))

    def predict(self, image: np.ndarray) -> SuperResolutionPrediction:
        image = check_image(image)
        height, width = image.shape[:2]
        if height * width * self.scale**2 > MAX_OUTPUT_PIXELS:
            raise ValueError(f"{width}x{height} ×{self.scale} exceeds {MAX_OUTPUT_PIXELS} output pixels")
        # said explicitly: the processor guesses the channel axis from the shape and reads a 3 px high crop channels-first
        inputs = self.processor(images=[image], return_tensors="pt", input_data_format="channels_last").to(self.device)
        with self.torch.inference_mode():
            output = self.model(**inputs).reconstruction[0, :, : height * self.scale, : width * self.scale]
        enlarged = (output.clamp(0, 1) * 255).round().to(self.torch.uint8).permute(1, 2, 0).cpu().numpy()
        return SuperResolutionPrediction(
            image=np.ascontiguousarray(enlarged), meta={"scale": self.scale, "input_size": [height, width], "checkpoint": self.checkpoint.name}
        )


class TritonPythonModel(ExpertModel):
    name = "super_resolution"
    backends: ClassVar[dict[str, Callable[[dict[str, str]], Any]]] = {
        "oracle": OracleSuperResolution.from_params,
        "real": RealSuperResolution.from_params,
    }

    def outputs(self, request: Any) -> dict[str, np.ndarray]:
        prediction = self.backend.predict(self.input(request, "IMAGE"))
        return {"IMAGE_SR": prediction.image, "META": meta_tensor_value({**self.base_meta(), **prediction.meta})}
