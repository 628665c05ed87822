"""The one call the agent loop needs from an LLM: a chat-completions request in, a completion out."""

from __future__ import annotations

from typing import Any, Protocol

import openai
from openai.types.chat import ChatCompletion


class ChatEndpoint(Protocol):
    def complete(self, body: dict[str, Any]) -> ChatCompletion: ...


class OpenAIEndpoint:
    """Any OpenAI-compatible server (OpenAI, `vllm serve`, ...) through the openai SDK."""

    def __init__(self, client: openai.OpenAI):
        self.client = client

    def complete(self, body: dict[str, Any]) -> ChatCompletion:
        # The SDK's documented raw-request path: same retries, Retry-After and typed response,
        # without re-walking the whole message history through its TypedDict transform on every
        # turn (which cost more than everything else the harness does per turn).
        return self.client.post("/chat/completions", body=body, cast_to=ChatCompletion)
