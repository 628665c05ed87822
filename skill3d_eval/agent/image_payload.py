"""Frames as chat-message images: JPEG data URLs, encoded once per distinct frame.

Questions about one scene share its frames (VSI-Bench asks ~18 questions per video), so the
encoding is cached by pixel content; JPEG keeps requests small. The experts never see these
bytes: they receive the exact pixels over Triton.
"""

from __future__ import annotations

import base64
import hashlib
import io
from functools import lru_cache

import numpy as np
from PIL import Image

JPEG_QUALITY = 90


def image_data_url(frame: np.ndarray) -> str:
    digest = hashlib.blake2b(np.ascontiguousarray(frame).tobytes(), digest_size=16).hexdigest()
    return _encode(digest, frame.shape, frame.tobytes())


@lru_cache(maxsize=2048)
def _encode(digest: str, shape: tuple[int, ...], pixels: bytes) -> str:
    buffer = io.BytesIO()
    Image.fromarray(np.frombuffer(pixels, np.uint8).reshape(shape)).save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
