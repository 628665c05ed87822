"""A local Qwen-VL-family checkpoint answering chat requests in-process with transformers.

For models without a server: the same request the agent would send to `vllm serve` is rendered
with the checkpoint's own chat template (tools included), generated greedily or sampled, and
returned as a chat completion. Such models write tool calls as `<tool_call>` tags in text; the
agent loop's tag parser turns them into calls.
"""

from __future__ import annotations

import base64
import io
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import torch
from openai.types.chat import ChatCompletion, ChatCompletionMessage
from openai.types.chat.chat_completion import Choice
from openai.types.completion_usage import CompletionUsage
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor


class TransformersEndpoint:
    def __init__(self, checkpoint: str | Path, *, device: str = "cpu"):
        path = Path(checkpoint)
        if not path.is_dir():
            raise FileNotFoundError(f"llm_backend=transformers needs a local checkpoint directory as model=..., got {checkpoint}")
        self.processor = AutoProcessor.from_pretrained(path)
        self.model = AutoModelForImageTextToText.from_pretrained(path).to(device).eval()
        self.device = device
        self._lock = threading.Lock()  # one generate at a time: concurrent loops queue here

    def check(self, model: str) -> None:
        """The checkpoint loaded in the constructor: nothing is left to reach."""

    def complete(self, body: dict[str, Any]) -> ChatCompletion:
        tools = [tool["function"] for tool in body.get("tools", [])] if body.get("tool_choice") != "none" else None
        inputs = self.processor.apply_chat_template(
            [_to_transformers(message) for message in body["messages"]],
            tools=tools,
            add_generation_prompt=True,
            tokenize=True,
            return_dict=True,
            return_tensors="pt",
        ).to(self.device)
        temperature = float(body.get("temperature") or 0.0)
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        with self._lock, torch.no_grad():
            output = self.model.generate(**inputs, max_new_tokens=int(body.get("max_tokens") or 512), **sampling)
        prompt_tokens = inputs["input_ids"].shape[1]
        new_tokens = output[0, prompt_tokens:]
        text = self.processor.tokenizer.decode(new_tokens, skip_special_tokens=True)
        return ChatCompletion(
            id=f"local-{uuid.uuid4().hex}",
            object="chat.completion",
            created=int(time.time()),
            model=str(body.get("model", "local")),
            choices=[Choice(index=0, finish_reason="stop", message=ChatCompletionMessage(role="assistant", content=text))],
            usage=CompletionUsage(prompt_tokens=prompt_tokens, completion_tokens=len(new_tokens), total_tokens=prompt_tokens + len(new_tokens)),
        )


def _to_transformers(message: dict[str, Any]) -> dict[str, Any]:
    """OpenAI chat message → the processor's format (data-URL images decoded to PIL)."""
    content = message.get("content")
    if isinstance(content, list):
        parts = []
        for part in content:
            if part["type"] == "image_url":
                parts.append({"type": "image", "image": _decode_data_url(part["image_url"]["url"])})
            else:
                parts.append({"type": "text", "text": part.get("text", "")})
        return {**message, "content": parts}
    return {**message, "content": [{"type": "text", "text": content or ""}]}


def _decode_data_url(url: str) -> Image.Image:
    if not url.startswith("data:image/"):
        raise ValueError("the local backend accepts inline (data URL) images only")
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")
