"""The one call the agent loop needs from an LLM: a chat-completions request in, a completion out."""

from __future__ import annotations

from typing import Any, Protocol

import openai
from openai.types.chat import ChatCompletion

from skill3d_eval.llm.request_body import encode_chat_body


class ChatEndpoint(Protocol):
    def complete(self, body: dict[str, Any]) -> ChatCompletion: ...


class OpenAIEndpoint:
    """Any OpenAI-compatible server (OpenAI, `vllm serve`, ...) through the openai SDK."""

    def __init__(self, client: openai.OpenAI):
        self.client = client

    def complete(self, body: dict[str, Any]) -> ChatCompletion:
        # The SDK's documented raw-request path: same retries, Retry-After and typed response,
        # without re-walking the whole message history through its TypedDict transform, and with
        # the body's images serialised once per conversation instead of once per turn.
        return self.client.post("/chat/completions", content=encode_chat_body(body), cast_to=ChatCompletion)
