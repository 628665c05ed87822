"""One image column value, whatever form the data source stored it in, as an RGB PIL image.

The hub datasets decode to PIL images; parquet written without HF features and MMSI-Bench's
`images` give raw bytes or `{"bytes", "path"}` dicts; JSONL splits give paths relative to an
image root. Task `doc_to_visual` functions call this so each task accepts all of them.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from PIL import Image


class DataError(ValueError):
    """A row of a data source is unusable; the message names the row and the field."""


def open_image(value: Any, *, where: str, image_root: str | os.PathLike | None = None) -> Image.Image:
    if isinstance(value, Image.Image):
        return value.convert("RGB")
    if isinstance(value, dict) and (value.get("bytes") or value.get("path")):
        return open_image(value.get("bytes") or value["path"], where=where, image_root=image_root)
    if isinstance(value, (bytes, bytearray)):
        try:
            with Image.open(io.BytesIO(value)) as image:
                return image.convert("RGB")
        except OSError as exc:
            raise DataError(f"{where}: image bytes cannot be decoded: {exc}") from exc
    if isinstance(value, (str, os.PathLike)) and str(value):
        path = Path(value)
        if not path.is_absolute() and image_root:
            path = Path(image_root) / path
        if not path.is_file():
            raise DataError(f"{where}: image file {path} does not exist")
        with Image.open(path) as image:
            return image.convert("RGB")
    raise DataError(f"{where}: expected an image, bytes or a path, got {type(value).__name__}")
