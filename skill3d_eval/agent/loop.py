"""The LLM policy: chat completions with native function calling until a final answer.

The whole message history (system prompt, tools, every call and observation) goes to the
model on every turn; the original system dropped it after the first turn. The history is not
kept beside the trajectory: it is rebuilt from the trajectory by `agent.chat.chat_messages`
before each request, so the record holds everything the model was sent. Invalid calls come
back as error observations so the model can correct itself instead of the run crashing;
transport failures are retried by the openai SDK (honouring Retry-After) and a sample whose
endpoint keeps failing is recorded as failed by the runner.

With `observation_images` the tools' visual evidence goes to the model too: the trajectory
records each image by reference and whether it was attached, in call order while the turn's
byte budget lasts; the bytes stay in the sample's `ToolContext`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from skill3d_eval.agent.answer import normalize_answer
from skill3d_eval.agent.chat import SYSTEM_PROMPT, chat_messages
from skill3d_eval.agent.errors import LLMResponseError
from skill3d_eval.agent.image_payload import evidence_data_url, image_data_url
from skill3d_eval.agent.skill_retrieval import retrieve_for
from skill3d_eval.agent.rate_limit import RateLimiter
from skill3d_eval.records import Observation, Sample, ToolCall, Trajectory, Turn
from skill3d_eval.agent.tool_tags import parse_tool_tags
from skill3d_eval.llm import ChatEndpoint
from skill3d_eval.skills.guidance import render_guidance
from skill3d_eval.skills.memory import SceneMemory
from skill3d_eval.skills.snapshot import FrozenLibrary
from skill3d_eval.tools import ToolContext, ToolSet

FINAL_TURN_NOTE = "Tool budget exhausted: answer now from the evidence above."
EMPTY_REPLY_NOTE = "Your reply was empty. Call a tool or give the final answer."
# Rough prompt size for pacing before the endpoint reports real usage.
_EXPECTED_TOKENS_PER_MESSAGE = 200


class LLMPolicy:
    name = "llm"
    # The system prompt's template, with its `{answer_form}` slot.
    instructions = SYSTEM_PROMPT

    def __init__(
        self,
        endpoint: ChatEndpoint,
        model: str,
        tools: ToolSet,
        *,
        max_turns: int,
        temperature: float = 0.0,
        max_tokens: int = 1024,
        rate_limiter: RateLimiter | None = None,
        library: FrozenLibrary | None = None,
        guidance_max_tokens: int = 600,
        observation_images: bool = False,
        observation_image_bytes: int = 1_500_000,
    ):
        self.endpoint = endpoint
        self.library = library
        self.guidance_max_tokens = guidance_max_tokens
        self.model = model
        self.tools = tools
        self.max_turns = max_turns
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.rate_limiter = rate_limiter or RateLimiter()
        self.observation_images = observation_images
        self.observation_image_bytes = observation_image_bytes

    def record_question(self, sample: Sample, context: ToolContext, trajectory: Trajectory, memory: SceneMemory | None = None) -> None:
        """What the model is asked goes into the record: question, options and the guidance for
        the system prompt: with a library the retrieved skills, and the scene facts `memory` holds."""
        trajectory.question = sample.question
        trajectory.options = list(sample.options)
        retrieval = None
        if self.library is not None:
            retrieval = retrieve_for(self.library, sample, set(self.tools.tools), context, trajectory)
        trajectory.guidance = render_guidance(retrieval, memory if self.tools.tools else None, max_tokens=self.guidance_max_tokens)

    def run(self, sample: Sample, context: ToolContext, trajectory: Trajectory) -> Trajectory:
        # Facts the run's earlier questions established on these frames (none without Scene Memory).
        facts = SceneMemory.from_remembered(sample.scene, context.remembered_observations()) if sample.scene else None
        self.record_question(sample, context, trajectory, facts)
        # Encoded once: every turn then resends the same str objects (see llm.request_body).
        images = [image_data_url(frame) for frame in sample.frames]
        evidence: dict[str, str] = {}  # sha256 -> data URL of an attached tool image, made once
        seen_calls: dict[tuple[str, str], str] = {}
        notes: list[str] = []
        for index in range(self.max_turns):
            last = index == self.max_turns - 1
            if last and index > 0:
                notes.append(FINAL_TURN_NOTE)
            messages = chat_messages(trajectory, images, instructions=self.instructions, next_notes=notes, evidence=evidence)
            turn = self._turn(index, messages, notes, allow_tools=not last)
            trajectory.turns.append(turn)
            notes = []
            if not turn.tool_calls:
                if not (turn.assistant_text or "").strip() and not last:
                    notes = [EMPTY_REPLY_NOTE]
                    continue
                trajectory.final_text = turn.assistant_text
                trajectory.answer = normalize_answer(turn.assistant_text, sample.answer_kind, sample.options)
                trajectory.stop_reason = "answer"
                return trajectory
            if last:
                break
            for call in turn.tool_calls:
                turn.observations.append(self._execute(context, call, seen_calls))
            attach_within_budget(turn.observations, self.observation_image_bytes)
            for observation in turn.observations:
                for image in observation.images:
                    if image.attached and image.sha256 not in evidence:
                        evidence[image.sha256] = evidence_data_url(context.evidence[image.sha256], image.media_type)
        trajectory.stop_reason = "max_turns"
        return trajectory

    def _execute(self, context: ToolContext, call: ToolCall, seen: dict[tuple[str, str], str]) -> Observation:
        """Run a call; an exact repeat of an earlier call is answered by pointing back to it."""
        signature = (call.name, call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments, sort_keys=True))
        if signature in seen:
            return Observation(tool_call_id=call.id, name=call.name, ok=False, failure="repeated_call", error=f"repeated call: the same call was answered before (call {seen[signature]}); use that observation")
        seen[signature] = call.id
        return self.tools.call(context, call.name, call.arguments, call.id, evidence=self.observation_images)

    def _turn(self, index: int, messages: list[dict[str, Any]], notes: list[str], *, allow_tools: bool) -> Turn:
        expected = _EXPECTED_TOKENS_PER_MESSAGE * len(messages) + self.max_tokens
        self.rate_limiter.acquire(expected)
        started = time.perf_counter()
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": self.temperature, "max_tokens": self.max_tokens}
        if self.tools.tools:
            body.update(tools=self.tools.openai_schemas(), tool_choice="auto" if allow_tools else "none")
        try:
            response = self.endpoint.complete(body)
        except ValueError as exc:
            raise LLMResponseError(f"endpoint returned an unreadable body: {exc}") from exc
        if not getattr(response, "choices", None):
            raise LLMResponseError("endpoint returned a completion without choices")
        message = response.choices[0].message
        calls = [ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments) for c in message.tool_calls or []]
        tagged = False
        if not calls:
            calls = parse_tool_tags(message.content, index)
            tagged = bool(calls)
        usage = response.usage
        prompt_tokens = usage.prompt_tokens if usage else 0
        completion_tokens = usage.completion_tokens if usage else 0
        self.rate_limiter.record(prompt_tokens + completion_tokens, expected)
        return Turn(
            index=index,
            notes=notes,
            assistant_text=message.content,
            tool_calls=calls,
            tagged=tagged,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            seconds=time.perf_counter() - started,
        )


def attach_within_budget(observations: list[Observation], budget: int) -> None:
    """Decide which of one turn's tool images its next request carries: in call order, each that
    still fits the remaining `budget` (encoded bytes); the others are marked not attached."""
    left = budget
    for observation in observations:
        images = []
        for image in observation.images:
            if image.size_bytes <= left:
                left -= image.size_bytes
                images.append(image)
            else:
                images.append(image.model_copy(update={"attached": False}))
        observation.images = images
