import json

import numpy as np

from skill3d_eval.agent.image_payload import image_data_url
from skill3d_eval.llm.request_body import encode_chat_body


def _body(url: str, text: str = "How far?") -> dict:
    return {
        "model": "m",
        "temperature": 0,
        "messages": [
            {"role": "system", "content": "You answer spatial questions."},
            {"role": "user", "content": [{"type": "text", "text": "Image 0:"}, {"type": "image_url", "image_url": {"url": url, "detail": "low"}}, {"type": "text", "text": text}]},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "estimate_depth", "arguments": "{\"image\": 0}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "{\"depth_m\": 2.5}"},
        ],
        "tools": [{"type": "function", "function": {"name": "estimate_depth", "parameters": {"type": "object"}}}],
    }


def test_the_bytes_decode_to_exactly_the_body():
    url = image_data_url(np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3))
    body = _body(url, text='quotes " backslash \\ unicode é and a NUL \x00 in text')
    assert json.loads(encode_chat_body(body)) == body


def test_text_that_looks_like_a_placeholder_stays_text():
    url = image_data_url(np.zeros((4, 6, 3), np.uint8))
    for text in ("\x000\x00", '"\\u00000\\u0000"', "\x00" + "0" * 16 + "0\x00"):
        body = _body(url, text=text)
        assert json.loads(encode_chat_body(body)) == body


def test_each_image_keeps_its_own_place():
    first, second = image_data_url(np.zeros((4, 6, 3), np.uint8)), image_data_url(np.full((4, 6, 3), 255, np.uint8))
    body = _body(first)
    body["messages"][1]["content"].append({"type": "image_url", "image_url": {"url": second}})
    decoded = json.loads(encode_chat_body(body))
    urls = [part["image_url"]["url"] for part in decoded["messages"][1]["content"] if part["type"] == "image_url"]
    assert urls == [first, second] and first != second


def test_the_input_body_is_not_modified():
    url = image_data_url(np.zeros((4, 6, 3), np.uint8))
    body = _body(url)
    snapshot = json.dumps(body)
    encode_chat_body(body)
    assert json.dumps(body) == snapshot


def test_same_pixels_share_a_data_url_and_shape_is_part_of_the_key():
    pixels = np.arange(4 * 6 * 3, dtype=np.uint8)
    a = image_data_url(pixels.reshape(4, 6, 3))
    assert image_data_url(pixels.reshape(4, 6, 3).copy()) is a
    assert image_data_url(pixels.reshape(6, 4, 3)) != a
    assert image_data_url(pixels.reshape(4, 6, 3)[:, ::-1]) != a
