"""The chat the LLM policy starts from: instructions, then the question with its images."""

from __future__ import annotations

from typing import Any

from skill3d_eval.agent.image_payload import image_data_url
from skill3d_eval.records import Sample

SYSTEM_PROMPT = """You answer spatial questions about an indoor scene shown in the images.
You can call tools backed by 3D perception experts (depth, segmentation, multi-view
reconstruction, and 3D localisation built on them). Images are referred to by their 0-based
index. Call tools to gather evidence, read their JSON observations, then answer.
When you answer, reply with the answer alone: {answer_form}"""

ANSWER_FORMS = {
    "number": "a single number (no units, no words), e.g. 2.4",
    "choice": "the letter of the correct option alone, e.g. B",
}


def initial_messages(sample: Sample, guidance: str | None = None) -> list[dict[str, Any]]:
    """`guidance`: rendered skills, lessons and scene memory, appended to the system prompt."""
    content: list[dict[str, Any]] = []
    for index, frame in enumerate(sample.frames):
        content.append({"type": "text", "text": f"Image {index}:"})
        content.append({"type": "image_url", "image_url": {"url": image_data_url(frame)}})
    question = sample.question
    if sample.options and not all(option in question for option in sample.options):
        question += "\nOptions:\n" + "\n".join(sample.options)
    content.append({"type": "text", "text": question})
    system = SYSTEM_PROMPT.format(answer_form=ANSWER_FORMS[sample.answer_kind])
    if guidance:
        system += "\n\n" + guidance
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": content},
    ]
