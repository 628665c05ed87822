"""Optional LLM distillation: an OpenAI-compatible model rewrites a skill's strategy and lessons.

Only the prose changes; the workflow, stats and provenance stay as evolution made them. The
reply must be JSON matching `DISTILLATION_SCHEMA` (one advice per existing lesson, in order),
or the skill is left untouched and the error says why.
"""

from __future__ import annotations

import json

import jsonschema
import openai

from skill3d_eval.skills.model import Skill

DISTILLATION_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["strategy", "lesson_advice"],
    "properties": {
        "strategy": {"type": "string", "minLength": 20, "maxLength": 1200},
        "lesson_advice": {"type": "array", "items": {"type": "string", "minLength": 5, "maxLength": 400}},
    },
}

INSTRUCTIONS = """You maintain a library of skills for an agent that answers 3D spatial questions with tools.
Rewrite the skill's strategy as clear, imperative guidance for that agent (which tools, in which
order, which observation fields give the answer), and rewrite the advice of each lesson, keeping
their order. Do not change tools or arguments. Reply with JSON only:
{"strategy": "...", "lesson_advice": ["...", ...]}"""


class DistillationError(Exception):
    pass


def distill(skill: Skill, client: openai.OpenAI, model: str) -> Skill:
    card = skill.model_dump(mode="json", include={"id", "task_types", "trigger", "workflow", "strategy", "required_evidence", "lessons"})
    response = client.chat.completions.create(
        model=model,
        temperature=0,
        messages=[{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": json.dumps(card)}],
    )
    text = (response.choices[0].message.content or "").strip()
    try:
        reply = json.loads(text.removeprefix("```json").removeprefix("```").removesuffix("```"))
        jsonschema.validate(reply, DISTILLATION_SCHEMA)
    except (json.JSONDecodeError, jsonschema.ValidationError) as exc:
        raise DistillationError(f"distillation of {skill.id}: the reply is not valid: {getattr(exc, 'message', exc)}") from exc
    if len(reply["lesson_advice"]) != len(skill.lessons):
        raise DistillationError(f"distillation of {skill.id}: {len(reply['lesson_advice'])} lesson advices for {len(skill.lessons)} lessons")
    lessons = [lesson.model_copy(update={"advice": advice}) for lesson, advice in zip(skill.lessons, reply["lesson_advice"])]
    provenance = skill.provenance.model_copy(update={"origin": "distilled"})
    return skill.model_copy(update={"strategy": reply["strategy"], "lessons": lessons, "provenance": provenance})
