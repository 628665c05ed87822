"""The one renderer from a trajectory to chat messages (OpenAI chat-completions format).

The LLM policy rebuilds its whole chat from the trajectory before every request (smolagents'
`write_memory_to_messages`: memory is typed records, the messages are derived from them), and
the SFT export converts this same output to TRL's and ms-swift's formats. What a model is
trained on therefore cannot drift from what it is prompted with.

Layout: the system prompt (instructions with the answer form, then the retrieved guidance);
the user turn ("Image i:" + image per frame, then the question with its options appended when
it lacks them); then per turn the user notes sent before it, the assistant reply (its text, plus
native `tool_calls` unless the calls came as `<tool_call>` text tags) and its observations
(`tool` messages, or `<tool_response>` user messages for tagged calls, as Qwen's chat template
writes them); then, when the tools returned images (`observation_images`), one user message
with each image after a text label naming its call, tool and caption (a `tool` message cannot
carry images, and no message may come between an assistant's calls and their results), or the
label alone saying the image was left out over the turn's byte budget.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from skill3d_eval.records import Observation, ToolCall, Trajectory

SYSTEM_PROMPT = """You answer spatial questions about an indoor scene shown in the images.
You can call tools backed by 3D perception experts (depth, segmentation, multi-view
reconstruction, and 3D localisation built on them). Images are referred to by their 0-based
index. Call tools to gather evidence, read their JSON observations, then answer.
When you answer, reply with the answer alone: {answer_form}"""

ANSWER_FORMS = {
    "number": "a single number (no units, no words), e.g. 2.4",
    "choice": "the letter of the correct option alone, e.g. B",
}


def chat_messages(
    trajectory: Trajectory,
    images: Sequence[str],
    *,
    instructions: str = SYSTEM_PROMPT,
    next_notes: Sequence[str] = (),
    evidence: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The chat of `trajectory` so far.

    `images`: one URL per frame, in order. The loop passes JPEG data URLs computed once per
    question, so every turn carries the same str objects (`llm.request_body` encodes each once);
    the export passes file names and converts the image parts. `instructions`: the system
    prompt's template (`{answer_form}`). `next_notes`: user notes for the request about to be
    made, before its turn is recorded (the turn then keeps them in `Turn.notes`). `evidence`:
    the tools' images as URLs by sha256 (`Observation.images`); None renders the observations
    as text only (the SFT export: trajectories keep references, not the images).
    """
    system = instructions.format(answer_form=ANSWER_FORMS["choice" if trajectory.options else "number"])
    if trajectory.guidance:
        system += "\n\n" + trajectory.guidance
    content: list[dict[str, Any]] = []
    for index, url in enumerate(images):
        content.append({"type": "text", "text": f"Image {index}:"})
        content.append({"type": "image_url", "image_url": {"url": url}})
    content.append({"type": "text", "text": question_text(trajectory.question, trajectory.options)})
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}, {"role": "user", "content": content}]
    for turn in trajectory.turns:
        messages.extend({"role": "user", "content": note} for note in turn.notes)
        reply: dict[str, Any] = {"role": "assistant", "content": turn.assistant_text or ""}
        if turn.tool_calls and not turn.tagged:
            reply["tool_calls"] = [
                {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": arguments_json(call)}} for call in turn.tool_calls
            ]
        messages.append(reply)
        for observation in turn.observations:
            text = observation_text(observation)
            if turn.tagged:
                messages.append({"role": "user", "content": f"<tool_response>\n{text}\n</tool_response>"})
            else:
                messages.append({"role": "tool", "tool_call_id": observation.tool_call_id, "content": text})
        if evidence is not None:
            messages.extend(evidence_messages(turn.observations, evidence))
    messages.extend({"role": "user", "content": note} for note in next_notes)
    return messages


def question_text(question: str, options: Sequence[str]) -> str:
    """The question as the model reads it: options are appended unless the question already lists them."""
    if options and not all(option in question for option in options):
        return question + "\nOptions:\n" + "\n".join(options)
    return question


def arguments_json(call: ToolCall) -> str:
    """A call's arguments as JSON text: as the model wrote them, or canonical (sorted, compact) when parsed."""
    if isinstance(call.arguments, str):
        return call.arguments
    return json.dumps(call.arguments, separators=(",", ":"), sort_keys=True)


def observation_text(observation: Observation) -> str:
    """What the model reads back for a call: the compact observation JSON, or `{"error": ...}`."""
    if observation.ok:
        return json.dumps(observation.content, separators=(",", ":"))
    return json.dumps({"error": observation.error}, separators=(",", ":"))


def evidence_messages(observations: Sequence[Observation], evidence: Mapping[str, str]) -> list[dict[str, Any]]:
    """The user message carrying one turn's tool images (none when the tools returned none)."""
    parts: list[dict[str, Any]] = []
    for observation in observations:
        for image in observation.images:
            label = f"Evidence from {observation.name} (call {observation.tool_call_id}): {image.caption}"
            if not image.attached:
                parts.append({"type": "text", "text": f"{label} — not attached: this turn's image budget was spent ({image.size_bytes} bytes needed)."})
                continue
            url = evidence.get(image.sha256)
            if url is None:
                raise ValueError(f"no image {image.sha256} for call {observation.tool_call_id} ({observation.name}) among the evidence passed to chat_messages")
            parts.append({"type": "text", "text": label + ":"})
            parts.append({"type": "image_url", "image_url": {"url": url}})
    return [{"role": "user", "content": parts}] if parts else []
