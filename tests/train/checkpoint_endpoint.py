"""A minimal OpenAI-compatible chat endpoint that answers with a checkpoint through transformers.

Stands in for `vllm serve CHECKPOINT` (not installable here for Qwen-VL on CPU): the agent's
`llm` policy talks to it over real HTTP with the `openai` SDK. Requests are rendered with the
checkpoint's own chat template — images from the data URLs, tools from the request — and
answered greedily; tool calls stay in the text as `<tool_call>` tags, which the policy parses.
"""

from __future__ import annotations

import base64
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import torch
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor

MAX_NEW_TOKENS = 16


def _image(url: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")


def _chat(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    chat = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            content = [
                {"type": "image", "image": _image(block["image_url"]["url"])} if block["type"] == "image_url" else {"type": "text", "text": block["text"]}
                for block in content
            ]
        chat.append({**message, "content": content if content is not None else ""})
    return chat


class CheckpointEndpoint:
    def __init__(self, checkpoint: Path):
        self.processor = AutoProcessor.from_pretrained(checkpoint)
        self.model = AutoModelForImageTextToText.from_pretrained(checkpoint, dtype=torch.float32).eval()
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        tools = [tool["function"] for tool in request.get("tools") or []] or None
        with self._lock:
            self.requests.append(request)
            inputs = self.processor.apply_chat_template(
                _chat(request["messages"]), tools=tools, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt",
            )
            with torch.no_grad():
                output = self.model.generate(**inputs, max_new_tokens=min(MAX_NEW_TOKENS, request.get("max_tokens") or MAX_NEW_TOKENS), do_sample=False)
        prompt_tokens = inputs["input_ids"].shape[1]
        text = self.processor.decode(output[0, prompt_tokens:], skip_special_tokens=True)
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": 0,
            "model": request.get("model", "checkpoint"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": output.shape[1] - prompt_tokens, "total_tokens": output.shape[1]},
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if not self.path.endswith("/chat/completions"):
                    self.send_error(404)
                    return
                payload = json.dumps(outer.complete(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
