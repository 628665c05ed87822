"""The LLM policy: chat completions with native function calling until a final answer.

The whole message history (system prompt, tools, every call and observation) goes to the
model on every turn; the original system dropped it after the first turn. Invalid calls come
back as error observations so the model can correct itself instead of the run crashing.
"""

from __future__ import annotations

import json
import time
from typing import Any

import openai

from skill3d_eval.agent.answer import normalize_answer
from skill3d_eval.agent.prompt import initial_messages
from skill3d_eval.agent.records import Observation, Sample, ToolCall, Trajectory, Turn
from skill3d_eval.tools import ToolContext, ToolSet

FINAL_TURN_NOTE = "Tool budget exhausted: answer now from the evidence above."


class LLMPolicy:
    name = "llm"

    def __init__(self, client: openai.OpenAI, model: str, tools: ToolSet, *, max_turns: int, temperature: float = 0.0, max_tokens: int = 1024):
        self.client = client
        self.model = model
        self.tools = tools
        self.max_turns = max_turns
        self.temperature = temperature
        self.max_tokens = max_tokens

    def run(self, sample: Sample, context: ToolContext, trajectory: Trajectory) -> Trajectory:
        messages = initial_messages(sample)
        for index in range(self.max_turns):
            last = index == self.max_turns - 1
            if last:
                messages.append({"role": "user", "content": FINAL_TURN_NOTE})
            turn, reply = self._turn(index, messages, allow_tools=not last)
            trajectory.turns.append(turn)
            messages.append(reply)
            if not turn.tool_calls:
                trajectory.final_text = turn.assistant_text
                trajectory.answer = normalize_answer(turn.assistant_text, sample.answer_kind, sample.options)
                trajectory.stop_reason = "answer"
                return trajectory
            for call in turn.tool_calls:
                observation = self.tools.call(context, call.name, call.arguments, call.id)
                turn.observations.append(observation)
                messages.append({"role": "tool", "tool_call_id": call.id, "content": _observation_text(observation)})
        trajectory.stop_reason = "max_turns"
        return trajectory

    def _turn(self, index: int, messages: list[dict[str, Any]], *, allow_tools: bool) -> tuple[Turn, dict[str, Any]]:
        started = time.perf_counter()
        request: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "tools": self.tools.openai_schemas(),
            "tool_choice": "auto" if allow_tools else "none",
        }
        response = self.client.chat.completions.create(**request)
        message = response.choices[0].message
        calls = [ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments) for c in message.tool_calls or []]
        usage = response.usage
        turn = Turn(
            index=index,
            assistant_text=message.content,
            tool_calls=calls,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            seconds=time.perf_counter() - started,
        )
        reply: dict[str, Any] = {"role": "assistant", "content": message.content or ""}
        if calls:
            reply["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments if isinstance(c.arguments, str) else json.dumps(c.arguments)}}
                for c in calls
            ]
        return turn, reply


def _observation_text(observation: Observation) -> str:
    if observation.ok:
        return json.dumps(observation.content, separators=(",", ":"))
    return json.dumps({"error": observation.error}, separators=(",", ":"))
