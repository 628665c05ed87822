"""Frames (and tools' visual evidence) as chat-message images: data URLs, each frame encoded once.

Questions about one scene share its frames (VSI-Bench asks ~18 questions per video), so the
encoding is cached by pixel content (xxh3: hashing a frame costs microseconds, blake2b cost a
millisecond per question); JPEG keeps requests small. The experts never see these
bytes: they receive the exact pixels over Triton.
"""

from __future__ import annotations

import base64
import io
import threading
from collections import OrderedDict

import numpy as np
import xxhash
from PIL import Image

JPEG_QUALITY = 90


def image_data_url(frame: np.ndarray) -> str:
    pixels = np.ascontiguousarray(frame, dtype=np.uint8)
    digest = xxhash.xxh3_128_digest(pixels.data) + bytes(str(pixels.shape), "ascii")
    url = _cache.get(digest)
    if url is None:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=JPEG_QUALITY)
        url = _cache.put(digest, "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode())
    return url


def evidence_data_url(data: bytes, media_type: str) -> str:
    """A tool's already encoded image (`tools.visuals`) as a data URL: sent as encoded, never re-encoded."""
    return f"data:{media_type};base64," + base64.b64encode(data).decode()


class _DataUrlCache:
    """LRU by pixel digest; the pixels themselves are not kept (a key of raw frames would hold
    every cached frame twice, ~1 MB each at 640x480)."""

    def __init__(self, size: int):
        self.size = size
        self._urls: OrderedDict[bytes, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: bytes) -> str | None:
        with self._lock:
            url = self._urls.get(digest)
            if url is not None:
                self._urls.move_to_end(digest)
            return url

    def put(self, digest: bytes, url: str) -> str:
        with self._lock:
            self._urls[digest] = url
            if len(self._urls) > self.size:
                self._urls.popitem(last=False)
        return url


_cache = _DataUrlCache(2048)
