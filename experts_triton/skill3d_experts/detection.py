"""Open-vocabulary detection expert: boxes of the objects named by text prompts.

`IMAGE` UINT8 [H,W,3] + `PROMPTS` BYTES [P] (one category per element) → `BOXES` FP32 [N,4]
(pixel x1, y1 inclusive, x2, y2 exclusive), `SCORES` FP32 [N], `PROMPT_INDEX` INT32 [N] (which
prompt each box answers), `META` (JSON: `labels`, `prompts`, frame key, ...). N may be 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from skill3d_experts._triton import ExpertModel, InvalidInput, check_image, float_param, meta_tensor_value, text_input
from skill3d_experts.checkpoint import checkpoint_dir, configure_torch
from skill3d_experts.noise import OracleNoise
from skill3d_experts.oracle import OracleTruths, oracle_root_param
from skill3d_experts.oracle_store import OracleStore
from skill3d_experts.segmentation import boxes_from_masks, matches_category

MAX_PROMPTS = 32


@dataclass
class DetectionPrediction:
    boxes: np.ndarray  # float32 [N,4]
    scores: np.ndarray  # float32 [N]
    prompt_index: np.ndarray  # int32 [N]
    labels: list[str]
    meta: dict[str, Any] = field(default_factory=dict)


def check_prompts(prompts: list[str]) -> list[str]:
    if not prompts or len(prompts) > MAX_PROMPTS:
        raise InvalidInput(f"PROMPTS must hold 1..{MAX_PROMPTS} strings, got {len(prompts)}")
    for index, prompt in enumerate(prompts):
        if not prompt.strip():
            raise InvalidInput(f"PROMPTS[{index}] is empty")
    return prompts


class OracleDetection:
    """Tight boxes of the visible instances of each prompted category, per prompt in order,
    instances ordered by id; seeded jitter and misses when configured (score stays 1.0)."""

    def __init__(self, store: OracleStore, noise: OracleNoise | None = None):
        self.truths = OracleTruths(store)
        self.noise = noise or OracleNoise()

    @classmethod
    def from_params(cls, params: dict[str, str]) -> OracleDetection:
        return cls(OracleStore(oracle_root_param("detection", params)), OracleNoise.from_params("detection", params))

    def predict(self, image: np.ndarray, prompts: list[str]) -> DetectionPrediction:
        image = check_image(image)
        prompts = check_prompts(prompts)
        key, truth = self.truths.get(image)
        height, width = image.shape[:2]
        boxes, prompt_index, labels, instance_ids = [], [], [], []
        for index, prompt in enumerate(prompts):
            ids = [i for i in sorted(truth.labels) if i > 0 and matches_category(prompt, truth.labels[i])]
            ids = self.noise.detectable(truth.instances, [i for i in ids if (truth.instances == i).any()])
            ids = [i for i, kept in zip(ids, self.noise.kept(len(ids), key, prompt)) if kept]
            masks = (truth.instances[None] == np.asarray(ids, dtype=truth.instances.dtype)[:, None, None]).reshape(
                len(ids), height, width
            )
            boxes.append(self.noise.jitter_boxes(boxes_from_masks(masks), key, prompt, width, height))
            prompt_index += [index] * len(ids)
            labels += [truth.labels[i] for i in ids]
            instance_ids += ids
        meta: dict[str, Any] = {
            "frame_key": key,
            "scene": truth.scene,
            "frame_index": truth.frame_index,
            "prompts": prompts,
            "labels": labels,
            "instance_ids": instance_ids,
        }
        if self.noise.enabled:
            meta["noise"] = self.noise.describe()
        return DetectionPrediction(
            boxes=np.concatenate(boxes).astype(np.float32).reshape(-1, 4),
            scores=np.ones(len(labels), dtype=np.float32),
            prompt_index=np.asarray(prompt_index, dtype=np.int32),
            labels=labels,
            meta=meta,
        )


def prompt_spans(input_ids: list[int], separator_id: int, prompts: int) -> list[int]:
    """Prompt index of every token of `"p0. p1. ..."` (-1 for special tokens and separators)."""
    owner, current = [], 0
    for position, token in enumerate(input_ids):
        if position == 0 or token == separator_id or current >= prompts:
            owner.append(-1)
            current += token == separator_id and position > 0
        else:
            owner.append(current)
    owner[-1] = -1  # [SEP]
    return owner


class RealDetection:
    """Grounding DINO (transformers `GroundingDinoForObjectDetection` + `GroundingDinoProcessor`:
    `GroundingDinoImageProcessorPil` and the checkpoint's BERT tokenizer). The prompts become one
    caption `"p0. p1. ..."` (several when they overflow the model's `max_text_len`); a query is kept when its best token probability exceeds
    `box_threshold` (config parameter, default 0.35) and is assigned to the prompt that token
    belongs to — the processor's own post-processing, plus an exact prompt index instead of
    decoded label text. Boxes are pixel x1, y1, x2, y2 clipped to the image."""

    ACCEPTED = ("grounding-dino",)

    def __init__(self, checkpoint: Path, box_threshold: float = 0.35, device: str = "cpu"):
        import torch
        from transformers import AutoConfig, AutoProcessor, GroundingDinoForObjectDetection

        config = AutoConfig.from_pretrained(checkpoint)
        if config.model_type not in self.ACCEPTED:
            raise ValueError(f"detection: checkpoint {str(checkpoint)!r} is a {config.model_type!r} model; backend 'real' needs grounding-dino")
        self.torch, self.device, self.checkpoint, self.box_threshold = torch, device, checkpoint, box_threshold
        self.processor = AutoProcessor.from_pretrained(checkpoint)
        self.model = GroundingDinoForObjectDetection.from_pretrained(checkpoint).eval().to(device)
        self.separator_id = self.processor.tokenizer.convert_tokens_to_ids(".")
        self.max_text_len = int(config.max_text_len)

    @classmethod
    def from_params(cls, params: dict[str, str]) -> RealDetection:
        configure_torch("detection", params)
        threshold = float_param("detection", params, "box_threshold", 0.35)
        return cls(checkpoint_dir("detection", params), threshold, params.get("device", "cpu"))

    def predict(self, image: np.ndarray, prompts: list[str]) -> DetectionPrediction:
        image = check_image(image)
        prompts = check_prompts(prompts)
        found = [
            (box, score, group[index])
            for group in self.caption_groups(prompts)
            for box, score, index in self.detect(image, [prompts[i] for i in group])
        ]
        found.sort(key=lambda item: -item[1])  # best first across captions
        boxes = np.array([box for box, _, _ in found], dtype=np.float32).reshape(-1, 4)
        index = [prompt for _, _, prompt in found]
        labels = [prompts[i] for i in index]
        return DetectionPrediction(
            boxes=boxes,
            scores=np.array([score for _, score, _ in found], dtype=np.float32),
            prompt_index=np.asarray(index, dtype=np.int32),
            labels=labels,
            meta={"prompts": prompts, "labels": labels, "checkpoint": self.checkpoint.name, "box_threshold": self.box_threshold},
        )

    def caption_groups(self, prompts: list[str]) -> list[list[int]]:
        """Prompt indices packed, in order, into captions of at most the model's `max_text_len`
        tokens: the text encoder has no positions beyond it, and 32 long prompts overflow it.
        A single prompt longer than that alone is truncated by the tokenizer."""
        groups: list[list[int]] = [[]]
        used = 2  # [CLS] ... [SEP]
        for index, prompt in enumerate(prompts):
            size = len(self.processor.tokenizer.tokenize(caption_of([prompt])))
            if groups[-1] and used + size > self.max_text_len:
                groups.append([])
                used = 2
            groups[-1].append(index)
            used += size
        return groups

    def detect(self, image: np.ndarray, prompts: list[str]) -> list[tuple[np.ndarray, float, int]]:
        """(pixel box, score, index into `prompts`) of every query kept, for one caption."""
        height, width = image.shape[:2]
        inputs = self.processor(
            images=image, text=caption_of(prompts), truncation=True, max_length=self.max_text_len, return_tensors="pt",
            input_data_format="channels_last",
        ).to(self.device)
        with self.torch.inference_mode():
            outputs = self.model(**inputs)
        probabilities = outputs.logits[0].sigmoid().float().cpu().numpy()  # [queries, text tokens]
        owner = prompt_spans(inputs["input_ids"][0].tolist(), self.separator_id, len(prompts))
        probabilities = probabilities[:, : len(owner)]
        best_token, scores = probabilities.argmax(axis=1), probabilities.max(axis=1)
        keep = [q for q in np.argsort(-scores, kind="stable") if scores[q] > self.box_threshold and owner[best_token[q]] >= 0]
        cx, cy, w, h = outputs.pred_boxes[0].float().cpu().numpy()[keep].T if keep else np.zeros((4, 0), np.float32)
        boxes = np.stack([(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height], axis=1)
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
        return [(box, float(scores[q]), owner[best_token[q]]) for box, q in zip(boxes, keep)]


def caption_of(prompts: list[str]) -> str:
    """Grounding DINO's caption: lower-case prompts, each ended by a '.'."""
    return " ".join(f"{' '.join(p.lower().split()).rstrip('.')}." for p in prompts)


class TritonPythonModel(ExpertModel):
    name = "detection"
    backends: ClassVar[dict[str, Callable[[dict[str, str]], Any]]] = {
        "oracle": OracleDetection.from_params,
        "real": RealDetection.from_params,
    }

    def outputs(self, request: Any) -> dict[str, np.ndarray]:
        prediction = self.backend.predict(self.input(request, "IMAGE"), text_input(self.input(request, "PROMPTS")))
        return {
            "BOXES": prediction.boxes,
            "SCORES": prediction.scores,
            "PROMPT_INDEX": prediction.prompt_index,
            "META": meta_tensor_value({**self.base_meta(), **prediction.meta}),
        }
