"""A local Qwen-VL-family checkpoint answering chat requests in-process with transformers.

For models without a server: the same request the agent would send to `vllm serve` is rendered
with the checkpoint's own chat template, generated greedily or sampled, and returned as a chat
completion. The tool schemas reach the model through that template when it renders tools, else
as a Hermes block in the system message (`llm.tool_prompt`, probed once per checkpoint and
recorded as `tool_rendering`); they are rendered on every turn, `tool_choice="none"` included,
as `vllm serve` does by default, so the last turn's prompt has the layout of all the others.
Such models write tool calls as `<tool_call>` tags in text; the agent loop's tag parser turns
them into calls.
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

from skill3d_eval.llm.tool_prompt import ToolRendering, probe_tool_rendering, with_hermes_tools


class TransformersEndpoint:
    def __init__(self, checkpoint: str | Path, *, device: str = "cpu"):
        path = Path(checkpoint)
        if not path.is_dir():
            raise FileNotFoundError(f"llm_backend=transformers needs a local checkpoint directory as model=..., got {checkpoint}")
        self.processor = AutoProcessor.from_pretrained(path)
        # Before the weights: a template that cannot carry the tools is refused in a second.
        self.tool_rendering: ToolRendering = probe_tool_rendering(self._render, str(path))
        self.model = AutoModelForImageTextToText.from_pretrained(path).to(device).eval()
        self.device = device
        self._lock = threading.Lock()  # one generate at a time: concurrent loops queue here

    def check(self, model: str) -> None:
        """The checkpoint loaded in the constructor: nothing is left to reach."""

    def prompt(self, body: dict[str, Any]) -> str:
        """The text the model reads for `body`, images as their placeholder tokens."""
        return self._render(*self._template_input(body))

    def complete(self, body: dict[str, Any]) -> ChatCompletion:
        messages, tools = self._template_input(body)
        inputs = self.processor.apply_chat_template(
            [_to_transformers(message) for message in messages],
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
        text = self.reply_text(new_tokens)
        return ChatCompletion(
            id=f"local-{uuid.uuid4().hex}",
            object="chat.completion",
            created=int(time.time()),
            model=str(body.get("model", "local")),
            choices=[Choice(index=0, finish_reason="stop", message=ChatCompletionMessage(role="assistant", content=text))],
            usage=CompletionUsage(prompt_tokens=prompt_tokens, completion_tokens=len(new_tokens), total_tokens=prompt_tokens + len(new_tokens)),
        )

    def reply_text(self, tokens: Any) -> str:
        """Generated tokens as the reply: special tokens (end of turn, padding) dropped; the
        `<tool_call>` tags are ordinary added tokens in Qwen's vocabularies and stay."""
        return self.processor.tokenizer.decode(tokens, skip_special_tokens=True)

    def _template_input(self, body: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
        """The messages and tools the chat template is given: the request's, or with the tools in
        a Hermes system block when the template has no tools branch."""
        tools = body.get("tools") or None
        if self.tool_rendering == "hermes_system_block":
            return with_hermes_tools(body["messages"], tools), None
        return body["messages"], tools

    def _render(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> str:
        return self.processor.apply_chat_template([_to_transformers(message) for message in messages], tools=tools, add_generation_prompt=True, tokenize=False)


def _to_transformers(message: dict[str, Any]) -> dict[str, Any]:
    """OpenAI chat message → the processor's format (data-URL images decoded to PIL).

    Empty text is no part at all, as in the SFT export's TRL rows: templates test a message's
    content for truth (Qwen3-VL's puts a newline before a call when there is text), and a list
    holding one empty part would be true here and false in training."""
    content = message.get("content")
    if isinstance(content, list):
        parts = []
        for part in content:
            if part["type"] == "image_url":
                parts.append({"type": "image", "image": _decode_data_url(part["image_url"]["url"])})
            else:
                parts.append({"type": "text", "text": part.get("text", "")})
        return {**message, "content": parts}
    return {**message, "content": [{"type": "text", "text": content}] if content else []}


def _decode_data_url(url: str) -> Image.Image:
    if not url.startswith("data:image/"):
        raise ValueError("the local backend accepts inline (data URL) images only")
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")
