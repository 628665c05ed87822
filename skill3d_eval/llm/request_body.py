"""Chat-completions request bodies as JSON bytes, each image encoded to JSON once.

Every turn resends the whole history, images included (a VSI-Bench question carries 32 frames:
megabytes of base64). Serialising that with `json.dumps` on every turn was the largest cost
the harness had per turn. The images of a conversation are the same string objects turn after
turn, so each is JSON-encoded once (the cache hashes a str once and compares by identity
first) and spliced into the JSON of the rest of the body, which is small.
"""

from __future__ import annotations

import json
import re
import secrets
from functools import lru_cache
from typing import Any

# A marker no message can contain by accident: it carries a per-process random nonce.
_NONCE = secrets.token_hex(8)
_MARK = re.compile(r'"\\u0000' + _NONCE + r'(\d+)\\u0000"')


def encode_chat_body(body: dict[str, Any]) -> bytes:
    """`json.dumps(body)` as UTF-8, with image URLs taken from a per-string cache."""
    urls: list[str] = []

    def placeholder(url: str) -> str:
        urls.append(url)
        return f"\x00{_NONCE}{len(urls) - 1}\x00"

    messages = [_with_placeholders(message, placeholder) for message in body.get("messages", [])]
    text = json.dumps({**body, "messages": messages}, separators=(",", ":"))
    pieces = _MARK.split(text)
    # split() alternates text and captured indices: text, index, text, index, ..., text.
    for position in range(1, len(pieces), 2):
        pieces[position] = _json_string(urls[int(pieces[position])])
    return "".join(pieces).encode()


def _with_placeholders(message: dict[str, Any], placeholder: Any) -> dict[str, Any]:
    content = message.get("content")
    if not isinstance(content, list):
        return message
    parts = []
    for part in content:
        image = part.get("image_url") if isinstance(part, dict) else None
        if isinstance(image, dict) and isinstance(image.get("url"), str):
            part = {**part, "image_url": {**image, "url": placeholder(image["url"])}}
        parts.append(part)
    return {**message, "content": parts}


@lru_cache(maxsize=1024)
def _json_string(text: str) -> str:
    return json.dumps(text)
