"""A trajectory as a training conversation: the chat the `llm` policy would have had.

The exported prompt is the one the agent sends at inference (`agent.prompt`: system prompt
with the answer form, then "Image i:" + image per frame, then the question), tool calls carry
their validated arguments and tool messages the same compact observation JSON the loop feeds
back, so a model trained on it sees at test time exactly the layout it learned from. Two
renderings: TRL's conversational format (image placeholders + an `images` column, tool calls
as OpenAI `tool_calls`) and ms-swift's (`<image>` tags, `tool_call` / `tool_response` roles).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from skill3d_eval.agent.prompt import ANSWER_FORMS, SYSTEM_PROMPT
from skill3d_eval.records import Observation, ToolCall, Trajectory


def observation_text(observation: Observation) -> str:
    """What the loop feeds back for a call (same JSON as `agent.loop`)."""
    if observation.ok:
        return json.dumps(observation.content, separators=(",", ":"))
    return json.dumps({"error": observation.error}, separators=(",", ":"))


def arguments_json(call: ToolCall) -> str:
    if isinstance(call.arguments, str):
        return call.arguments
    return json.dumps(call.arguments, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class Conversation:
    """Benchmark-neutral chat of one trajectory; images are referenced by position in `images`."""

    system: str
    question: str
    images: list[str]
    steps: list[tuple[list[ToolCall], list[Observation]]]
    answer: str

    @classmethod
    def of(cls, trajectory: Trajectory, images: list[str], answer_kind: str) -> Conversation:
        steps = [(turn.tool_calls, turn.observations) for turn in trajectory.turns if turn.tool_calls]
        return cls(
            system=SYSTEM_PROMPT.format(answer_form=ANSWER_FORMS[answer_kind]),
            question=trajectory.question,
            images=images,
            steps=steps,
            answer=trajectory.answer,
        )

    def prompt_messages(self) -> list[dict[str, Any]]:
        """TRL conversational prompt: system, then the user turn with one placeholder per image."""
        content: list[dict[str, Any]] = []
        for index in range(len(self.images)):
            content.append({"type": "text", "text": f"Image {index}:"})
            content.append({"type": "image"})
        content.append({"type": "text", "text": self.question})
        return [
            {"role": "system", "content": [{"type": "text", "text": self.system}]},
            {"role": "user", "content": content},
        ]

    def trl_messages(self) -> list[dict[str, Any]]:
        messages = self.prompt_messages()
        for calls, observations in self.steps:
            messages.append({
                "role": "assistant",
                "content": [],
                "tool_calls": [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": arguments_json(c)}} for c in calls],
            })
            for observation in observations:
                messages.append({"role": "tool", "name": observation.name, "tool_call_id": observation.tool_call_id, "content": [{"type": "text", "text": observation_text(observation)}]})
        messages.append({"role": "assistant", "content": [{"type": "text", "text": self.answer}]})
        return messages

    def swift_messages(self) -> list[dict[str, str]]:
        user = "".join(f"Image {index}:<image>" for index in range(len(self.images))) + self.question
        messages = [{"role": "system", "content": self.system}, {"role": "user", "content": user}]
        for calls, observations in self.steps:
            for call in calls:
                messages.append({"role": "tool_call", "content": json.dumps({"name": call.name, "arguments": json.loads(arguments_json(call))})})
            for observation in observations:
                messages.append({"role": "tool_response", "content": observation_text(observation)})
        messages.append({"role": "assistant", "content": self.answer})
        return messages
