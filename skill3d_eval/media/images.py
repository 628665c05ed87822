"""Strict image decoding for whatever form a data source stored an image column in.

Hub datasets give PIL images, parquet written without HF features and MMSI-Bench give bytes or
`{"bytes", "path"}` dicts, JSONL splits give paths relative to an image root. All of them end
here, so every task gets the same guarantees:

- a path is read only inside the task's media root (`media.paths.confined`);
- the size is checked from the header before a pixel is decoded (`media.limits`);
- a truncated or corrupt file is an error, never a half-grey image. lmms-eval sets PIL's
  process-wide `ImageFile.LOAD_TRUNCATED_IMAGES = True` when it is imported, and PIL then
  silently pads a short file. We cannot rely on (or flip) that global from worker threads, so
  the decoder's reads are watched instead: a complete image never asks for bytes past its end,
  a truncated one always does. PNG is also `verify()`-ed, which checks every chunk's CRC, so a
  corrupted (not only shortened) PNG fails too.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Any

from PIL import Image

from skill3d_eval.media import limits
from skill3d_eval.media.errors import MediaError, MediaLimitError
from skill3d_eval.media.paths import confined


class _ReadWatch(io.BytesIO):
    """Counts reads that found nothing left: the decoder wanted more than the file holds."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.starved = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        if size and size > 0 and not chunk:
            self.starved += 1
        return chunk


def decode_image(data: bytes, *, where: str) -> Image.Image:
    """An RGB image from encoded bytes; MediaError for anything but a complete, allowed image."""
    source = _ReadWatch(data)
    with warnings.catch_warnings():
        # Our own limit, checked from the header below, is the one that applies.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(source)  # reads the header only
        except Image.DecompressionBombError as exc:
            raise MediaLimitError(f"{where}: {exc}") from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise MediaError(f"{where}: image cannot be decoded: {exc}") from None
    with image:
        limits.current().check_size(*image.size, where)
        try:
            if image.format == "PNG":
                with Image.open(io.BytesIO(data)) as checked:
                    checked.verify()
            image.load()
            decoded = image.convert("RGB")
        except (OSError, SyntaxError, ValueError) as exc:
            raise MediaError(f"{where}: image is corrupt or truncated: {exc}") from None
        if source.starved:
            raise MediaError(f"{where}: image is truncated ({len(data)} bytes of {image.format} data end before the image does)")
    return decoded


def load_image(value: Any, *, where: str, root: str | os.PathLike | None = None) -> Image.Image:
    """One image column value as an RGB image; paths are resolved inside `root` or refused."""
    if isinstance(value, Image.Image):
        limits.current().check_size(*value.size, where)
        return value.convert("RGB")
    if isinstance(value, dict) and (value.get("bytes") or value.get("path")):
        return load_image(value.get("bytes") or value["path"], where=where, root=root)
    if isinstance(value, (bytes, bytearray)):
        return decode_image(bytes(value), where=where)
    if isinstance(value, (str, os.PathLike)) and os.fspath(value):
        if root is None:
            raise MediaError(f"{where}: image is the path {os.fspath(value)!r} but the task has no image_root to resolve it in (skill3d-eval data local-task ... --image-root DIR)")
        path = confined(root, value, where=where)
        if not path.is_file():
            raise MediaError(f"{where}: image file {path} does not exist")
        return decode_image(Path(path).read_bytes(), where=where)
    raise MediaError(f"{where}: expected an image, bytes or a path, got {type(value).__name__}")


def load_images(values: list[Any] | tuple[Any, ...], *, where: str, root: str | os.PathLike | None = None) -> list[Image.Image]:
    """A row's images, their number checked against `max_frames` before any is decoded."""
    limits.current().check_count(len(values), where)
    return [load_image(value, where=f"{where}[{index}]", root=root) for index, value in enumerate(values)]
