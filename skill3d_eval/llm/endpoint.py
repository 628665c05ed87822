"""The one call the agent loop needs from an LLM: a chat-completions request in, a completion out."""

from __future__ import annotations

from typing import Any, Protocol

import openai
from openai.types.chat import ChatCompletion

from skill3d_eval.llm.request_body import encode_chat_body
from skill3d_eval.llm.tool_prompt import ToolRendering


class EndpointUnusable(Exception):
    """The endpoint cannot serve the run: unreachable, refused the key, or does not serve the model."""


class ChatEndpoint(Protocol):
    # How the tool schemas reach the model; recorded in run_info.json.
    tool_rendering: ToolRendering

    def complete(self, body: dict[str, Any]) -> ChatCompletion: ...

    def check(self, model: str) -> None:
        """Raise EndpointUnusable unless a minimal request for `model` succeeds."""
        ...


class OpenAIEndpoint:
    """Any OpenAI-compatible server (OpenAI, `vllm serve`, ...) through the openai SDK."""

    tool_rendering: ToolRendering = "endpoint"  # the server's template and tool parser

    def __init__(self, client: openai.OpenAI):
        self.client = client

    def complete(self, body: dict[str, Any]) -> ChatCompletion:
        # The SDK's documented raw-request path: same retries, Retry-After and typed response,
        # without re-walking the whole message history through its TypedDict transform, and with
        # the body's images serialised once per conversation instead of once per turn.
        return self.client.post("/chat/completions", content=encode_chat_body(body), cast_to=ChatCompletion)

    def check(self, model: str) -> None:
        """`GET /models` (free, generates nothing) and the model among those served; endpoints
        without that route get a one-token completion instead. A closed port fails in seconds."""
        client = self.client.with_options(max_retries=1, timeout=min(self.client.timeout if isinstance(self.client.timeout, float) else 30.0, 30.0))
        where = f"LLM endpoint {client.base_url}"
        try:
            served = [entry.id for entry in client.models.list()]
        except (openai.NotFoundError, openai.UnprocessableEntityError):
            served = []
        except openai.APIStatusError as exc:
            if exc.status_code not in (405, 501):
                raise EndpointUnusable(f"{where}: {exc.status_code} {_brief(exc)}") from None
            served = []
        except openai.APIError as exc:
            raise EndpointUnusable(f"{where}: {type(exc).__name__}: {_brief(exc)}") from None
        if served:
            if model not in served:
                raise EndpointUnusable(f"{where} does not serve model {model!r}; it serves: {', '.join(sorted(served)[:20])}")
            return
        try:
            client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Reply with OK."}], max_tokens=1)
        except openai.APIError as exc:
            raise EndpointUnusable(f"{where}: a one-token request for {model!r} failed: {type(exc).__name__}: {_brief(exc)}") from None


def _brief(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]
