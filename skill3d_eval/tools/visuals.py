"""Visual evidence a tool can show a multimodal model beside its JSON (`observation_images`).

The original system handed its MLLM the experts' pictures (detections drawn on the frame, a
depth map, the restored crop); numbers alone lose what a glance at an overlay shows (which
chair was found, whether a mask leaks onto the wall). Tools describe the evidence as pixels
plus a caption; it is encoded here once, addressed by its sha256, and only that reference
enters the trajectory.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from skill3d_eval.records import ObservationImage, ObservationImageKind

# Overlays, colour maps and renders have hard edges and flat areas: PNG keeps them exact and
# is small for them; the super-resolved crop is a photograph, where JPEG is several times smaller.
_FORMATS: dict[ObservationImageKind, str] = {"overlay": "PNG", "depth_colormap": "PNG", "novel_view": "PNG", "super_resolution": "JPEG"}
JPEG_QUALITY = 90
DEPTH_COLORMAP = "turbo"
MASK_ALPHA = 0.45
# Distinct instance colours (matplotlib's tab10 without its grey), cycled.
_PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75), (227, 119, 194), (188, 189, 34), (23, 190, 207)]


@dataclass(frozen=True)
class Visual:
    """One picture of evidence before encoding: `pixels` uint8 [H,W,3]."""

    kind: ObservationImageKind
    caption: str
    pixels: np.ndarray


@dataclass(frozen=True)
class EncodedVisual:
    reference: ObservationImage
    data: bytes


def encode_visual(visual: Visual) -> EncodedVisual:
    pixels = np.ascontiguousarray(visual.pixels, dtype=np.uint8)
    if pixels.ndim != 3 or pixels.shape[2] != 3 or 0 in pixels.shape:
        raise ValueError(f"visual evidence {visual.kind!r} must be a non-empty HxWx3 uint8 image, got shape {pixels.shape}")
    image_format = _FORMATS[visual.kind]
    buffer = io.BytesIO()
    if image_format == "JPEG":
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=JPEG_QUALITY)
    else:
        Image.fromarray(pixels).save(buffer, format="PNG", optimize=True)
    data = buffer.getvalue()
    reference = ObservationImage(
        kind=visual.kind,
        caption=visual.caption,
        media_type="image/jpeg" if image_format == "JPEG" else "image/png",
        sha256=hashlib.sha256(data).hexdigest(),
        width=pixels.shape[1],
        height=pixels.shape[0],
        size_bytes=len(data),
    )
    return EncodedVisual(reference, data)


def instance_color(index: int) -> tuple[int, int, int]:
    return _PALETTE[index % len(_PALETTE)]


def box_overlay(frame: np.ndarray, boxes: Sequence[Sequence[float]], labels: Sequence[str], masks: np.ndarray | None = None) -> np.ndarray:
    """`frame` with each instance's mask tinted and its box outlined in its own colour, labelled
    by `labels[i]` (numbered as in the JSON, so the model can match picture and list)."""
    pixels = np.asarray(frame, dtype=np.float32).copy()
    for index, mask in enumerate(masks if masks is not None else ()):
        pixels[mask] = (1 - MASK_ALPHA) * pixels[mask] + MASK_ALPHA * np.asarray(instance_color(index), np.float32)
    image = Image.fromarray(pixels.round().astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for index, (box, label) in enumerate(zip(boxes, labels, strict=True)):
        x1, y1, x2, y2 = (float(v) for v in box)
        color = instance_color(index)
        # Boxes are x2/y2-exclusive; the outline is drawn on the last pixel inside.
        draw.rectangle([x1, y1, max(x1, x2 - 1), max(y1, y2 - 1)], outline=color, width=2)
        # The label sits in the box's top-left corner, moved inwards where the box touches the right edge.
        text_width = draw.textlength(label)
        anchor = (max(1.0, min(x1 + 2, image.width - text_width - 2)), y1 + 1)
        left, top, right, bottom = draw.textbbox(anchor, label)
        draw.rectangle([left - 1, top - 1, right + 1, bottom + 1], fill=color)
        draw.text(anchor, label, fill=(255, 255, 255))
    return np.asarray(image)


def depth_colormap(depth: np.ndarray, near_m: float, far_m: float) -> np.ndarray:
    """Depth in metres as the `turbo` colour map over [near_m, far_m] (blue near, red far); pixels
    without depth are black. The range goes into the caption: colours alone carry no metres."""
    # Imported here: matplotlib costs ~80 ms to import, and only runs with images pay for it.
    from matplotlib import colormaps

    valid = np.isfinite(depth) & (depth > 0)
    span = max(far_m - near_m, 1e-6)
    scaled = np.clip((np.where(valid, depth, near_m) - near_m) / span, 0.0, 1.0)
    rgb = (colormaps[DEPTH_COLORMAP](scaled)[..., :3] * 255).round().astype(np.uint8)
    rgb[~valid] = 0
    return rgb
