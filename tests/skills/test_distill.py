"""LLM distillation through a real OpenAI-compatible HTTP endpoint; invalid replies are refused."""

from __future__ import annotations

import json

import openai
import pytest

from skill3d_eval.skills.distill import DistillationError, distill
from skill3d_eval.skills.model import FailureKind, Lesson
from skill3d_eval.skills.seeds import load_seed_skills
from tests.support.scripted_llm import ScriptedLLM, answer

pytestmark = pytest.mark.integration  # a scripted OpenAI-compatible HTTP endpoint


def _skill():
    seed = load_seed_skills()[0]
    return seed.model_copy(update={"lessons": [Lesson(kind=FailureKind.wrong_tool, what_went_wrong="w", advice="old advice", applies_to=list(seed.task_types))]})


def test_distillation_rewrites_prose_only():
    reply = {"strategy": "Call the tool once, then answer with its field exactly as observed.", "lesson_advice": ["Prefer the fused 3D tool."]}
    with ScriptedLLM(lambda messages: answer(json.dumps(reply))) as llm:
        client = openai.OpenAI(base_url=llm.base_url, api_key="k")
        skill = _skill()
        distilled = distill(skill, client, "scripted")
        (request,) = llm.requests
    assert json.loads(request["messages"][1]["content"])["id"] == skill.id
    assert distilled.strategy == reply["strategy"] and distilled.lessons[0].advice == "Prefer the fused 3D tool."
    assert distilled.workflow == skill.workflow and distilled.provenance.origin == "distilled"


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("not json", "not valid"),
        (json.dumps({"strategy": "too short", "lesson_advice": []}), "not valid"),
        (json.dumps({"strategy": "A long enough strategy for the schema.", "lesson_advice": []}), "0 lesson advices for 1 lessons"),
    ],
)
def test_invalid_replies_are_refused(reply, message):
    with ScriptedLLM(lambda messages: answer(reply)) as llm, pytest.raises(DistillationError, match=message):
        distill(_skill(), openai.OpenAI(base_url=llm.base_url, api_key="k", max_retries=0), "scripted")
