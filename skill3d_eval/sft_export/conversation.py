"""A trajectory as a training conversation: the agent's own chat, converted to TRL and ms-swift.

The messages are `agent.chat.chat_messages` of the trajectory, the function the `llm` policy
prompts with on every turn, so a model trained on them sees at test time exactly the layout it
learned from (system prompt with answer form and guidance, "Image i:" + image per frame, the
question with its options, assistant replies with their calls, observation JSON). The image
parts carry the exported file names; the converters below only change the wire format: TRL's
conversational format (content as parts, `{"type": "image"}` placeholders beside an `images`
column) and ms-swift's agent format (`<image>` tags, `tool_call` / `tool_response` roles).
"""

from __future__ import annotations

import json
from typing import Any

from skill3d_eval.agent.chat import chat_messages
from skill3d_eval.records import Trajectory


def training_messages(trajectory: Trajectory, images: list[str]) -> list[dict[str, Any]]:
    """The agent's chat of `trajectory`, ending in its normalised answer.

    One deliberate difference from what the model was sent and replied: the final assistant
    message is `trajectory.answer` (the bare number or letter the benchmark scores) instead of
    the reply it was extracted from, so the trained model learns the answer form the system
    prompt asks for. Trajectories that end on tool calls (the `program` policy's) get it
    appended.
    """
    messages = chat_messages(trajectory, images)
    if trajectory.turns and not trajectory.turns[-1].tool_calls:
        messages.pop()  # the answering reply
    messages.append({"role": "assistant", "content": trajectory.answer})
    return messages


def trl_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI chat messages → TRL's conversational format; images become placeholders in order."""
    names: dict[str, str] = {}  # tool_call_id → tool name, for the `tool` messages
    converted = []
    for message in messages:
        out: dict[str, Any] = {"role": message["role"], "content": _trl_parts(message["content"])}
        if message.get("tool_calls"):
            out["tool_calls"] = message["tool_calls"]
            names.update((call["id"], call["function"]["name"]) for call in message["tool_calls"])
        if message["role"] == "tool":
            out.update(name=names[message["tool_call_id"]], tool_call_id=message["tool_call_id"])
        converted.append(out)
    return converted


def _trl_parts(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return [{"type": "image"} if part["type"] == "image_url" else part for part in content]


def swift_messages(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """OpenAI chat messages → ms-swift's agent format: `<image>` tags, `tool_call` / `tool_response` roles."""
    converted = []
    for message in messages:
        role, content = message["role"], message["content"]
        if isinstance(content, list):
            content = "".join("<image>" if part["type"] == "image_url" else part["text"] for part in content)
        if role == "tool":
            converted.append({"role": "tool_response", "content": content})
            continue
        calls = message.get("tool_calls") or []
        if content or not calls:
            converted.append({"role": role, "content": content})
        for call in calls:
            converted.append({"role": "tool_call", "content": json.dumps({"name": call["function"]["name"], "arguments": _arguments(call["function"]["arguments"])})})
    return converted


def _arguments(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text  # as the model wrote it; the export's filters normally keep such calls out
