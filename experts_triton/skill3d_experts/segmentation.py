"""Open-vocabulary instance segmentation expert.

`IMAGE` UINT8 [H,W,3] + `PROMPT` BYTES [1] → `MASKS` BOOL [N,H,W], `BOXES` FP32 [N,4],
`SCORES` FP32 [N], `META` (JSON with `labels`, one category per instance). Boxes are pixel
`x1, y1, x2, y2` with x1/y1 inclusive and x2/y2 exclusive (a one-pixel object at (u, v) has
box (u, v, u+1, v+1)). N may be 0.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from skill3d_experts._triton import ExpertModel, InvalidInput, check_image, meta_tensor_value
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


@dataclass
class SegmentationPrediction:
    masks: np.ndarray  # bool [N,H,W]
    boxes: np.ndarray  # float32 [N,4]
    scores: np.ndarray  # float32 [N]
    labels: list[str]
    meta: dict[str, Any] = field(default_factory=dict)


class OracleSegmentation:
    """Instances of the prompted category from the frame's stored instance map, ordered by id."""

    def __init__(self, store: OracleStore):
        self.truths = OracleTruths(store)

    @classmethod
    def from_params(cls, params: dict[str, str]) -> OracleSegmentation:
        return cls(OracleStore(oracle_root_param("segmentation", params)))

    def predict(self, image: np.ndarray, prompt: str) -> SegmentationPrediction:
        image = check_image(image)
        if not prompt.strip():
            raise InvalidInput("PROMPT is empty")
        key, truth = self.truths.get(image)
        ids = [i for i in sorted(truth.labels) if i > 0 and matches_category(prompt, truth.labels[i])]
        ids = [i for i in ids if (truth.instances == i).any()]  # only instances visible in this view
        masks = truth.instances[None] == np.asarray(ids, dtype=truth.instances.dtype)[:, None, None]
        masks = masks.reshape(len(ids), *image.shape[:2])
        labels = [truth.labels[i] for i in ids]
        return SegmentationPrediction(
            masks=masks,
            boxes=boxes_from_masks(masks),
            scores=np.ones(len(ids), dtype=np.float32),
            labels=labels,
            meta={
                "frame_key": key,
                "scene": truth.scene,
                "frame_index": truth.frame_index,
                "prompt": prompt,
                "labels": labels,
                "instance_ids": ids,
            },
        )


class TritonPythonModel(ExpertModel):
    name = "segmentation"
    backends: ClassVar[dict[str, Callable[[dict[str, str]], Any]]] = {"oracle": OracleSegmentation.from_params}

    def outputs(self, request: Any) -> dict[str, np.ndarray]:
        image = self.input(request, "IMAGE")
        prompt = self.input(request, "PROMPT").reshape(-1)
        if prompt.size != 1:
            raise InvalidInput(f"PROMPT must hold exactly one string, got {prompt.size}")
        text = prompt[0].decode("utf-8") if isinstance(prompt[0], bytes) else str(prompt[0])
        prediction = self.backend.predict(image, text)
        return {
            "MASKS": prediction.masks,
            "BOXES": prediction.boxes,
            "SCORES": prediction.scores,
            "META": meta_tensor_value({**self.base_meta(), **prediction.meta}),
        }
