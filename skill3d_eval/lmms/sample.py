"""An lmms-eval request turned into a `Sample`: the prompt, decoded frames and metadata.

The model adapter never learns which benchmark it answers; it reads the benchmark-neutral
fields the task's documents carry (question type, options, scene) when they exist. Visuals
may be PIL images, uint8 arrays, or a video path (as lmms-eval's video tasks hand them over),
which becomes `num_frames` uniformly sampled frames from a cached decoder. The task's
`doc_to_visual` runs under the run's `MediaLimits`, so an oversized image or video is refused
from its header, before it is decoded.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import xxhash
from PIL import Image

from skill3d_eval.media import limits
from skill3d_eval.media.errors import MediaError
from skill3d_eval.media.limits import MediaLimits
from skill3d_eval.media.video import is_video_path, sample_frames
from skill3d_eval.records import Sample, SampleError, SampleIdentity, content_hash

DEFAULT_NUM_FRAMES = 32
_TASK_TYPE_FIELDS = ("question_type", "task", "type", "sub_task", "category")
_SCENE_FIELDS = ("scene_name", "scene", "video_id")

__all__ = ["DEFAULT_NUM_FRAMES", "SampleError", "sample_from_request", "task_type_of"]


def identify(args: tuple, doc: dict[str, Any], source: str = "", bounds: MediaLimits = MediaLimits()) -> SampleIdentity:
    """`source` names the data the split came from (the dataset's fingerprint): another copy,
    regenerated files or another local source give every question a new content hash."""
    context, _gen_kwargs, doc_to_visual, doc_id, task, split = args
    options = [str(option) for option in doc.get("options") or doc.get("choices") or []]
    return SampleIdentity(
        task=task,
        doc_id=int(doc_id),
        sample_id=_sample_id(args, doc),
        question=context,
        scene=_scene(doc),
        content_hash=content_hash(task, split, source, context, options, _media_identities(doc_to_visual, doc, bounds)),
    )


def task_type_of(doc: dict[str, Any]) -> str | None:
    """The question's type under whichever name its benchmark gives it (VSI-Bench and MMSI-Bench
    `question_type`, CV-Bench `task`, BLINK `sub_task`): what skills are keyed by."""
    return next((str(doc[f]) for f in _TASK_TYPE_FIELDS if doc.get(f)), None)


def _sample_id(args: tuple, doc: dict[str, Any]) -> str:
    _context, _gen_kwargs, _doc_to_visual, doc_id, task, split = args
    return f"{task}/{split}/{doc.get('id', doc.get('idx', doc_id))}"


def _scene(doc: dict[str, Any]) -> str | None:
    return next((str(doc[f]) for f in _SCENE_FIELDS if doc.get(f)), None)


def _media_identities(doc_to_visual: Any, doc: dict[str, Any], bounds: MediaLimits) -> list[str]:
    """What the visuals are without decoding videos: pixels' digest for in-memory images, path,
    size and modification time for files (paths the task has confined to its media root). A
    visual that cannot be listed here fails later, at load time, as that row's recorded error."""
    try:
        with limits.applied(bounds):
            visuals = doc_to_visual(doc) if doc_to_visual is not None else []
    except Exception as exc:
        return [f"unavailable: {type(exc).__name__}"]
    identities = []
    for visual in visuals or []:
        if isinstance(visual, Image.Image):
            identities.append(f"image:{visual.mode}:{visual.size}:{xxhash.xxh3_128_hexdigest(visual.tobytes())}")
        elif isinstance(visual, np.ndarray):
            identities.append(f"array:{visual.shape}:{xxhash.xxh3_128_hexdigest(np.ascontiguousarray(visual).data)}")
        elif isinstance(visual, (str, os.PathLike)):
            path = os.path.abspath(visual)
            try:
                stat = os.stat(path)
                identities.append(f"file:{path}:{stat.st_size}:{stat.st_mtime_ns}")
            except OSError:
                identities.append(f"file:{path}:missing")
        else:
            identities.append(f"other:{type(visual).__name__}")
    return identities


def sample_from_request(
    args: tuple, doc: dict[str, Any], *, num_frames: int = DEFAULT_NUM_FRAMES, bounds: MediaLimits = MediaLimits()
) -> Sample:
    context, _gen_kwargs, doc_to_visual, doc_id, task, split = args
    sample_id = _sample_id(args, doc)
    with limits.applied(bounds):
        try:
            visuals = doc_to_visual(doc) if doc_to_visual is not None else []
        except Exception as exc:
            raise SampleError(f"{sample_id}: visuals could not be loaded: {exc}") from exc
        frames: list[np.ndarray] = []
        for index, visual in enumerate(visuals or []):
            frames.extend(_frames_of(visual, sample_id, index, num_frames))
    options = doc.get("options") or doc.get("choices") or []
    sample = Sample(
        task=task,
        doc_id=int(doc_id),
        sample_id=sample_id,
        question=context,
        frames=frames,
        task_type=task_type_of(doc),
        options=[str(option) for option in options],
        scene=_scene(doc),
        split=split,
    )
    # Each visual was checked from its header; the whole sample (several videos, arrays) is checked here.
    sample.check_bounds(bounds.max_frames, bounds.max_frame_pixels)
    return sample


def _frames_of(visual: Any, sample_id: str, index: int, num_frames: int) -> list[np.ndarray]:
    if isinstance(visual, Image.Image):
        return [np.asarray(visual.convert("RGB"), dtype=np.uint8)]
    if isinstance(visual, np.ndarray) and visual.dtype == np.uint8 and visual.ndim == 3 and visual.shape[2] == 3:
        return [visual]
    if is_video_path(visual):
        try:
            return list(sample_frames(visual, num_frames))
        except MediaError as exc:
            raise SampleError(f"{sample_id}: visual {index}: {exc}") from exc
    raise SampleError(
        f"{sample_id}: visual {index} is a {type(visual).__name__}, expected a PIL image, uint8 HxWx3 array or video path"
    )
