"""An lmms-eval request turned into a `Sample`: the prompt, decoded frames and metadata.

The model adapter never learns which benchmark it answers; it reads the benchmark-neutral
fields the task's documents carry (question type, options, scene) when they exist.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from skill3d_eval.agent.records import Sample

_TASK_TYPE_FIELDS = ("question_type", "task", "type", "sub_task", "category")
_SCENE_FIELDS = ("scene_name", "scene", "video_id")


class SampleError(ValueError):
    """A document or its visuals cannot be turned into a sample; names the sample and field."""


def sample_from_request(args: tuple, doc: dict[str, Any]) -> Sample:
    context, _gen_kwargs, doc_to_visual, doc_id, task, split = args
    sample_id = f"{task}/{split}/{doc.get('id', doc_id)}"
    try:
        visuals = doc_to_visual(doc) if doc_to_visual is not None else []
    except Exception as exc:
        raise SampleError(f"{sample_id}: visuals could not be loaded: {exc}") from exc
    frames = [_to_rgb(visual, sample_id, index) for index, visual in enumerate(visuals or [])]
    options = doc.get("options") or []
    return Sample(
        task=task,
        doc_id=int(doc_id),
        sample_id=sample_id,
        question=context,
        frames=frames,
        task_type=next((str(doc[f]) for f in _TASK_TYPE_FIELDS if doc.get(f)), None),
        options=[str(option) for option in options],
        scene=next((str(doc[f]) for f in _SCENE_FIELDS if doc.get(f)), None),
    )


def _to_rgb(visual: Any, sample_id: str, index: int) -> np.ndarray:
    if isinstance(visual, Image.Image):
        return np.asarray(visual.convert("RGB"), dtype=np.uint8)
    if isinstance(visual, np.ndarray) and visual.dtype == np.uint8 and visual.ndim == 3 and visual.shape[2] == 3:
        return visual
    raise SampleError(f"{sample_id}: visual {index} is a {type(visual).__name__}, expected a PIL image or uint8 HxWx3 array")
