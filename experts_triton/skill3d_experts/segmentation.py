"""Open-vocabulary instance segmentation expert.

`IMAGE` UINT8 [H,W,3] + either `PROMPT` BYTES [1] (a category: every instance of it) or
`BOX_PROMPTS` FP32 [K,4] (one mask per box: the object the box frames) → `MASKS` BOOL [N,H,W], `BOXES` FP32 [N,4],
`SCORES` FP32 [N], `META` (JSON with `labels`, one category per instance). Boxes are pixel
`x1, y1, x2, y2` with x1/y1 inclusive and x2/y2 exclusive (a one-pixel object at (u, v) has
box (u, v, u+1, v+1)). N may be 0.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from skill3d_experts._triton import ExpertModel, InvalidInput, check_image, meta_tensor_value, text_input
from skill3d_experts.checkpoint import checkpoint_dir, configure_torch
from skill3d_experts.noise import OracleNoise
from skill3d_experts.oracle import OracleTruths, oracle_root_param
from skill3d_experts.oracle_store import OracleStore


def normalize_category(text: str) -> str:
    """Lower-case, single-spaced, `chair(s)` / `chairs` / `boxes` reduced to the singular."""
    text = " ".join(text.lower().replace("_", " ").split()).strip(" .,;:!?\"'")
    text = re.sub(r"\(e?s\)$", "", text)
    for suffix, singular in (("ies", "y"), ("ches", "ch"), ("shes", "sh"), ("xes", "x"), ("sses", "ss")):
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            return text[: -len(suffix)] + singular
    if text.endswith("s") and not text.endswith("ss") and len(text) > 2:
        return text[:-1]
    return text


def matches_category(prompt: str, category: str) -> bool:
    """Case-insensitive match that tolerates a simple plural on either side."""
    return normalize_category(prompt) == normalize_category(category)


def boxes_from_masks(masks: np.ndarray) -> np.ndarray:
    """Tight pixel boxes `[x1, y1, x2, y2]` (x2/y2 exclusive) of boolean masks [N,H,W]; empty mask → zeros."""
    boxes = np.zeros((masks.shape[0], 4), dtype=np.float32)
    for index, mask in enumerate(masks):
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        if rows.size:
            boxes[index] = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    return boxes


def check_boxes(boxes: np.ndarray, width: int, height: int, name: str = "BOX_PROMPTS") -> np.ndarray:
    """Pixel boxes [K,4] (x1, y1, x2, y2, x2/y2 exclusive) that are non-empty and inside the image."""
    boxes = np.asarray(boxes, dtype=np.float32)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or not 1 <= len(boxes) <= 64:
        raise InvalidInput(f"{name} must be FP32 [K,4] with 1 <= K <= 64, got {list(boxes.shape)}")
    for index, (x1, y1, x2, y2) in enumerate(boxes):
        if not (0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height):
            raise InvalidInput(f"{name}[{index}] = {[float(v) for v in (x1, y1, x2, y2)]} is empty or outside the {width}x{height} image")
    return boxes


def dominant_instance(instances: np.ndarray, box: np.ndarray) -> int:
    """The non-background instance id with the most pixels inside `box` (0 when there is none)."""
    x1, y1, x2, y2 = (int(np.floor(box[0])), int(np.floor(box[1])), int(np.ceil(box[2])), int(np.ceil(box[3])))
    ids, counts = np.unique(instances[y1:y2, x1:x2], return_counts=True)
    counts = np.where(ids > 0, counts, 0)
    return int(ids[np.argmax(counts)]) if counts.size and counts.max() > 0 else 0


@dataclass
class SegmentationPrediction:
    masks: np.ndarray  # bool [N,H,W]
    boxes: np.ndarray  # float32 [N,4]
    scores: np.ndarray  # float32 [N]
    labels: list[str]
    meta: dict[str, Any] = field(default_factory=dict)


class OracleSegmentation:
    """Instances of the prompted category from the frame's stored instance map, ordered by id
    (text prompts merge adjacent instances when `merge_gap_px` is set; box prompts never do)."""

    def __init__(self, store: OracleStore, noise: OracleNoise | None = None):
        self.truths = OracleTruths(store)
        self.noise = noise or OracleNoise()

    @classmethod
    def from_params(cls, params: dict[str, str]) -> OracleSegmentation:
        return cls(OracleStore(oracle_root_param("segmentation", params)), OracleNoise.from_params("segmentation", params))

    def predict_boxes(self, image: np.ndarray, boxes: np.ndarray) -> SegmentationPrediction:
        """One mask per box prompt: the instance covering most of the box (empty mask, score 0 if none)."""
        image = check_image(image)
        boxes = check_boxes(boxes, image.shape[1], image.shape[0])
        key, truth = self.truths.get(image)
        ids = [dominant_instance(truth.instances, box) for box in boxes]
        masks = np.stack([truth.instances == i if i else np.zeros(image.shape[:2], bool) for i in ids])
        masks = masks.reshape(len(ids), *image.shape[:2])
        labels = [truth.labels.get(i, "") if i else "" for i in ids]
        return SegmentationPrediction(
            masks=masks,
            boxes=boxes_from_masks(masks),
            scores=np.array([1.0 if i else 0.0 for i in ids], dtype=np.float32),
            labels=labels,
            meta={
                "frame_key": key,
                "scene": truth.scene,
                "frame_index": truth.frame_index,
                "box_prompts": boxes.tolist(),
                "labels": labels,
                "instance_ids": ids,
            },
        )

    def predict(self, image: np.ndarray, prompt: str) -> SegmentationPrediction:
        image = check_image(image)
        if not prompt.strip():
            raise InvalidInput("PROMPT is empty")
        key, truth = self.truths.get(image)
        ids = [i for i in sorted(truth.labels) if i > 0 and matches_category(prompt, truth.labels[i])]
        ids = [i for i in ids if (truth.instances == i).any()]  # only instances visible in this view
        groups = self.noise.merged_instances(truth.instances, ids)
        masks = np.stack([np.isin(truth.instances, group) for group in groups]) if groups else np.zeros((0, *image.shape[:2]), bool)
        ids = [group[0] for group in groups]
        labels = [truth.labels[i] for i in ids]
        meta: dict[str, Any] = {
            "frame_key": key,
            "scene": truth.scene,
            "frame_index": truth.frame_index,
            "prompt": prompt,
            "labels": labels,
            "instance_ids": ids,
        }
        if self.noise.enabled:
            meta["noise"] = self.noise.describe()
        return SegmentationPrediction(
            masks=masks,
            boxes=boxes_from_masks(masks),
            scores=np.ones(len(ids), dtype=np.float32),
            labels=labels,
            meta=meta,
        )


MAX_BOX_PROMPTS = 64


@dataclass(frozen=True)
class DetectedBoxes:
    """The text detector's answer for one prompt: pixel boxes (best first), their scores, and
    which model version gave them (recorded in META: the masks are only as good as these boxes)."""

    boxes: np.ndarray  # float32 [N,4]
    scores: np.ndarray  # float32 [N]
    model: str
    model_version: str


TextDetector = Callable[[np.ndarray, str], DetectedBoxes]


class DetectorFailed(RuntimeError):
    """The text detector could not answer (not loaded, or it failed); the message names the model."""


class TritonTextDetector:
    """Asks another model of the same server for the prompt's boxes through BLS (Business Logic
    Scripting, Python backend ≥ 21.08): a text-prompted segmentation is detection → SAM box prompts,
    and the detector stays one model that can be swapped, batched or placed on its own."""

    def __init__(self, model: str):
        self.model = model

    def __call__(self, image: np.ndarray, prompt: str) -> DetectedBoxes:
        pb = importlib.import_module("triton_python_backend_utils")  # exists only inside the backend stub
        request = pb.InferenceRequest(
            model_name=self.model,
            inputs=[pb.Tensor("IMAGE", image), pb.Tensor("PROMPTS", np.array([prompt.encode()], dtype=np.object_))],
            requested_output_names=["BOXES", "SCORES", "META"],
        )
        response = request.exec()
        if response.has_error():
            raise DetectorFailed(
                f"text prompts need boxes from the detector model {self.model!r} (config parameter 'text_detector'), "
                f"which did not answer: {response.error().message()}"
            )
        meta = json.loads(text_input(pb.get_output_tensor_by_name(response, "META").as_numpy())[0])
        return DetectedBoxes(
            boxes=pb.get_output_tensor_by_name(response, "BOXES").as_numpy().astype(np.float32).reshape(-1, 4),
            scores=pb.get_output_tensor_by_name(response, "SCORES").as_numpy().astype(np.float32).reshape(-1),
            model=self.model,
            model_version=str(meta.get("model_version", "")),
        )


def usable_boxes(detected: DetectedBoxes, width: int, height: int) -> np.ndarray:
    """Indices of the detections SAM can take as box prompts: finite, at least one pixel wide and
    high once clipped to the image (a box hanging off the edge clips to nothing), at most 64."""
    boxes = detected.boxes.copy()
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
    keep = np.isfinite(detected.boxes).all(axis=1) & (boxes[:, 2] - boxes[:, 0] >= 1) & (boxes[:, 3] - boxes[:, 1] >= 1)
    return np.flatnonzero(keep)[:MAX_BOX_PROMPTS]


class RealSegmentation:
    """SAM with box prompts (transformers `SamModel` + `SamProcessor`, whose image processor is
    `SamImageProcessorPil`): one mask per box, `multimask_output=False`, masks upsampled and
    thresholded by the processor's `post_process_masks`; box-prompt scores are SAM's predicted IoU.

    A text prompt is detection, then SAM: `detector` (in Triton, the model named by the config
    parameter `text_detector`, default `detection`, through BLS) boxes the category, and each box
    becomes a box prompt. Labels are the prompt, `SCORES` the detector's scores (how sure it is the
    object is of the category), SAM's IoU estimates go to META. SAM 3 would take text itself, but
    its processor and model need torchvision, which the experts' environment does not have."""

    ACCEPTED = ("sam",)

    def __init__(self, checkpoint: Path, detector: TextDetector, device: str = "cpu"):
        import torch
        from transformers import AutoConfig, AutoProcessor, SamModel

        config = AutoConfig.from_pretrained(checkpoint)
        if config.model_type not in self.ACCEPTED:
            raise ValueError(f"segmentation: checkpoint {str(checkpoint)!r} is a {config.model_type!r} model; backend 'real' needs sam")
        self.torch, self.device, self.checkpoint, self.detector = torch, device, checkpoint, detector
        self.processor = AutoProcessor.from_pretrained(checkpoint)
        self.model = SamModel.from_pretrained(checkpoint).eval().to(device)

    @classmethod
    def from_params(cls, params: dict[str, str]) -> RealSegmentation:
        configure_torch("segmentation", params)
        detector = params.get("text_detector", "").strip() or "detection"
        return cls(checkpoint_dir("segmentation", params), TritonTextDetector(detector), params.get("device", "cpu"))

    def predict(self, image: np.ndarray, prompt: str) -> SegmentationPrediction:
        image = check_image(image)
        if not prompt.strip():
            raise InvalidInput("PROMPT is empty")
        height, width = image.shape[:2]
        detected = self.detector(image, prompt)
        keep = usable_boxes(detected, width, height)
        boxes, scores = detected.boxes[keep], detected.scores[keep]
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
        if len(boxes):
            masks, mask_scores = self.segment_boxes(image, boxes)
        else:
            masks, mask_scores = np.zeros((0, height, width), dtype=bool), np.zeros(0, dtype=np.float32)
        labels = [prompt] * len(masks)
        return SegmentationPrediction(
            masks=masks,
            boxes=boxes_from_masks(masks),
            scores=scores.astype(np.float32),
            labels=labels,
            meta={
                "prompt": prompt,
                "labels": labels,
                "checkpoint": self.checkpoint.name,
                "detector": {
                    "model": detected.model,
                    "model_version": detected.model_version,
                    "boxes": boxes.tolist(),
                    "scores": scores.tolist(),
                    "dropped": int(len(detected.boxes) - len(keep)),
                },
                "mask_scores": mask_scores.tolist(),
            },
        )

    def predict_boxes(self, image: np.ndarray, boxes: np.ndarray) -> SegmentationPrediction:
        image = check_image(image)
        boxes = check_boxes(boxes, image.shape[1], image.shape[0])
        masks, scores = self.segment_boxes(image, boxes)
        return SegmentationPrediction(
            masks=masks,
            boxes=boxes_from_masks(masks),
            scores=scores,
            labels=[""] * len(masks),
            meta={"box_prompts": boxes.tolist(), "labels": [""] * len(masks), "checkpoint": self.checkpoint.name},
        )

    def segment_boxes(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """SAM's mask [K,H,W] and predicted IoU [K] for each checked pixel box."""
        inputs = self.processor(
            images=image, input_boxes=[boxes.tolist()], return_tensors="pt", input_data_format="channels_last"
        ).to(self.device)
        with self.torch.inference_mode():
            outputs = self.model(pixel_values=inputs["pixel_values"], input_boxes=inputs["input_boxes"], multimask_output=False)
        masks = self.processor.post_process_masks(outputs.pred_masks.cpu(), inputs["original_sizes"].cpu(), inputs["reshaped_input_sizes"].cpu())[0]
        return masks[:, 0].numpy().astype(bool), outputs.iou_scores[0, :, 0].float().cpu().numpy().astype(np.float32)


class TritonPythonModel(ExpertModel):
    name = "segmentation"
    backends: ClassVar[dict[str, Callable[[dict[str, str]], Any]]] = {
        "oracle": OracleSegmentation.from_params,
        "real": RealSegmentation.from_params,
    }

    def outputs(self, request: Any) -> dict[str, np.ndarray]:
        image = self.input(request, "IMAGE")
        prompt, boxes = self.optional_input(request, "PROMPT"), self.optional_input(request, "BOX_PROMPTS")
        if (prompt is None) == (boxes is None):
            raise InvalidInput("send exactly one of PROMPT (text) and BOX_PROMPTS (boxes)")
        if boxes is not None:
            prediction = self.backend.predict_boxes(image, boxes)
        else:
            texts = text_input(prompt)
            if len(texts) != 1:
                raise InvalidInput(f"PROMPT must hold exactly one string, got {len(texts)}")
            prediction = self.backend.predict(image, texts[0])
        return {
            "MASKS": prediction.masks,
            "BOXES": prediction.boxes,
            "SCORES": prediction.scores,
            "META": meta_tensor_value({**self.base_meta(), **prediction.meta}),
        }
