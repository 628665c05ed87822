"""Object orientation expert (Orient-Anything's outputs) for the object framed by a box.

`IMAGE` UINT8 [B,H,W,3] + `BOX` FP32 [B,4] (pixel x1, y1, x2, y2 of the object in the image) →
`ANGLES` FP32 [B,3] = azimuth, elevation, rotation in degrees, `CONFIDENCE` FP32 [B,1], `META`.

Angles describe where the camera sees the object from, in the object's own frame (x = its
front, z = up): azimuth = atan2(v_y, v_x) in [0, 360) of the unit vector v from the object
to the camera (0: seen from the front, 90: from its left side), elevation = asin(v_z) (positive:
seen from above), rotation = -asin(r_z) with r the camera's right axis (the object's in-image
roll, counter-clockwise positive). spatial_synth objects are axis-aligned boxes, so the oracle
takes every object's front to be world +x. The full frame plus a box is sent (not a crop) so
the oracle can find the frame; a real backend crops the box itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from skill3d_experts._triton import ExpertModel, InvalidInput, check_image, meta_tensor_value
from skill3d_experts.checkpoint import checkpoint_dir, configure_torch
from skill3d_experts.noise import OracleNoise
from skill3d_experts.oracle import OracleTruths, oracle_root_param
from skill3d_experts.oracle_store import OracleStore
from skill3d_experts.segmentation import check_boxes, dominant_instance


@dataclass
class OrientationPrediction:
    angles: np.ndarray  # float32 [3]: azimuth, elevation, rotation (degrees)
    confidence: float
    meta: dict[str, Any] = field(default_factory=dict)


def viewing_angles(object_center_camera: np.ndarray, pose_c2w: np.ndarray) -> np.ndarray:
    """Azimuth, elevation, rotation (degrees) of a camera seeing an axis-aligned object (front = world +x)."""
    rotation = np.asarray(pose_c2w, dtype=np.float64)[:3, :3]
    to_camera = rotation @ (-np.asarray(object_center_camera, dtype=np.float64))
    to_camera /= np.linalg.norm(to_camera)
    azimuth = np.degrees(np.arctan2(to_camera[1], to_camera[0])) % 360.0
    elevation = np.degrees(np.arcsin(np.clip(to_camera[2], -1.0, 1.0)))
    roll = 0.0 - np.degrees(np.arcsin(np.clip(rotation[2, 0], -1.0, 1.0)))
    return np.array([azimuth, elevation, roll], dtype=np.float32)


def masked_centroid(depth: np.ndarray, mask: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """Mean camera-frame point (OpenCV axes) of the masked pixels with valid depth."""
    rows, cols = np.nonzero(mask & np.isfinite(depth) & (depth > 0))
    if rows.size == 0:
        raise InvalidInput("the object in BOX has no valid depth")
    z = depth[rows, cols].astype(np.float64)
    fx, fy, cx, cy = (float(v) for v in (intrinsics[0, 0], intrinsics[1, 1], intrinsics[0, 2], intrinsics[1, 2]))
    return np.array([((cols - cx) * z / fx).mean(), ((rows - cy) * z / fy).mean(), z.mean()])


class OracleOrientation:
    """Angles from the stored pose and the visible surface of the instance covering most of the box;
    confidence = share of that instance's visible pixels inside the box."""

    def __init__(self, store: OracleStore, noise: OracleNoise | None = None):
        self.truths = OracleTruths(store)
        self.noise = noise or OracleNoise()

    @classmethod
    def from_params(cls, params: dict[str, str]) -> OracleOrientation:
        return cls(OracleStore(oracle_root_param("orientation", params)), OracleNoise.from_params("orientation", params))

    def predict(self, image: np.ndarray, box: np.ndarray) -> OrientationPrediction:
        image = check_image(image)
        (box,) = check_boxes(np.asarray(box, dtype=np.float32).reshape(1, -1), image.shape[1], image.shape[0], "BOX")
        key, truth = self.truths.get(image)
        instance = dominant_instance(truth.instances, box)
        if not instance:
            raise InvalidInput(f"no object inside BOX {[float(v) for v in box]}")
        mask = truth.instances == instance
        x1, y1, x2, y2 = (int(np.floor(box[0])), int(np.floor(box[1])), int(np.ceil(box[2])), int(np.ceil(box[3])))
        confidence = float(mask[y1:y2, x1:x2].sum() / mask.sum())
        angles = viewing_angles(masked_centroid(truth.depth, mask, truth.intrinsics), truth.pose_c2w)
        angles = self.noise.perturb_angles(angles, key, tuple(float(v) for v in box))
        meta: dict[str, Any] = {
            "frame_key": key,
            "scene": truth.scene,
            "frame_index": truth.frame_index,
            "instance_id": instance,
            "label": truth.labels.get(instance, ""),
        }
        if self.noise.enabled:
            meta["noise"] = self.noise.describe()
        return OrientationPrediction(angles=angles, confidence=confidence, meta=meta)

    def predict_batch(self, items: list[tuple[np.ndarray, np.ndarray]]) -> list[OrientationPrediction | Exception]:
        return [ExpertModel.attempt(self.predict, image, box) for image, box in items]


class RealOrientation:
    """Orient-Anything (`orientation_head.OrientationNetwork`: DINOv2 + angle-bin head) on the box
    crop, preprocessed by the checkpoint's image processor; every crop of a batch in one pass."""

    def __init__(self, checkpoint: Path, device: str = "cpu"):
        import torch
        from transformers import AutoConfig, AutoImageProcessor

        from skill3d_experts.orientation_head import OrientationNetwork

        config = AutoConfig.from_pretrained(checkpoint)
        if config.model_type != "dinov2" or not (checkpoint / "orientation_head.json").is_file():
            raise ValueError(
                f"orientation: checkpoint {str(checkpoint)!r} must be a dinov2 backbone with orientation_head.json/.safetensors"
            )
        self.torch, self.device, self.checkpoint = torch, device, checkpoint
        self.processor = AutoImageProcessor.from_pretrained(checkpoint)
        self.network = OrientationNetwork.load(checkpoint).eval().to(device)

    @classmethod
    def from_params(cls, params: dict[str, str]) -> RealOrientation:
        configure_torch("orientation", params)
        return cls(checkpoint_dir("orientation", params), params.get("device", "cpu"))

    @staticmethod
    def crop(image: np.ndarray, box: np.ndarray) -> np.ndarray:
        image = check_image(image)
        (box,) = check_boxes(np.asarray(box, dtype=np.float32).reshape(1, -1), image.shape[1], image.shape[0], "BOX")
        x1, y1, x2, y2 = (int(np.floor(box[0])), int(np.floor(box[1])), int(np.ceil(box[2])), int(np.ceil(box[3])))
        return image[y1:y2, x1:x2]

    def predict_batch(self, items: list[tuple[np.ndarray, np.ndarray]]) -> list[OrientationPrediction | Exception]:
        """Every valid crop of every request in one forward pass; a bad box fails only its item."""
        from skill3d_experts.orientation_head import decode_angles

        crops = [ExpertModel.attempt(self.crop, image, box) for image, box in items]
        valid = [crop for crop in crops if not isinstance(crop, Exception)]
        if not valid:
            return crops
        # said explicitly: the processor guesses the channel axis from the shape and reads a 3 px high crop channels-first
        inputs = self.processor(images=valid, return_tensors="pt", input_data_format="channels_last").to(self.device)
        with self.torch.inference_mode():
            angles, confidence = decode_angles(self.network(inputs["pixel_values"]))
        answers = iter(
            OrientationPrediction(angles=a.cpu().numpy().astype(np.float32), confidence=float(c), meta={"checkpoint": self.checkpoint.name, "batch_size": len(valid)})
            for a, c in zip(angles, confidence)
        )
        return [crop if isinstance(crop, Exception) else next(answers) for crop in crops]


class TritonPythonModel(ExpertModel):
    name = "orientation"
    backends: ClassVar[dict[str, Callable[[dict[str, str]], Any]]] = {
        "oracle": OracleOrientation.from_params,
        "real": RealOrientation.from_params,
    }

    """Batches the request list: every (image, box) of every request goes to one `predict_batch` call."""

    def items(self, request: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        images, boxes = self.input(request, "IMAGE"), self.input(request, "BOX")
        if images.ndim != 4 or boxes.shape != (images.shape[0], 4):
            raise InvalidInput(f"IMAGE must be UINT8 [B,H,W,3] and BOX FP32 [B,4], got {list(images.shape)} and {list(boxes.shape)}")
        return list(zip(images, boxes))

    def answer(self, requests: list[Any]) -> list[dict[str, np.ndarray] | Exception]:
        return self.answer_items(requests, self.items, self.backend.predict_batch, self.pack)

    def pack(self, predictions: list[OrientationPrediction]) -> dict[str, np.ndarray]:
        return {
            "ANGLES": np.stack([p.angles for p in predictions]).astype(np.float32),
            "CONFIDENCE": np.array([[p.confidence] for p in predictions], dtype=np.float32),
            "META": np.stack([meta_tensor_value({**self.base_meta(), **p.meta}) for p in predictions]),
        }
