"""Skills, lessons and scene memory as a compact, token-bounded block for the agent's system prompt.

Blocks go in priority order (best skill first, then its lessons, then the scene facts Scene
Memory holds for this question's frames, then the other skills) and whole lines are dropped
once the budget is reached, so the guidance never crowds out the question. Tokens are
estimated at 4 characters each (no tokenizer needed).
"""

from __future__ import annotations

import json

from skill3d_eval.skills.memory import SceneMemory
from skill3d_eval.skills.model import Skill
from skill3d_eval.skills.retrieval import Retrieval

CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


SKILLS_HEADER = "Guidance from the skill library (follow the best-fitting skill; observations override it):"
FACTS_HEADER = "Scene Memory (what tools established for earlier questions on these frames; observations override it):"


def render_guidance(retrieval: Retrieval | None, memory: SceneMemory | None = None, max_tokens: int = 600) -> str | None:
    skills = [_skill_lines(rank, hit.skill) for rank, hit in enumerate(retrieval.hits if retrieval else [])]
    facts = []
    if memory and memory.facts:
        facts.append(f"Known facts about scene {memory.scene} (same frames as this question):")
        for fact in memory.facts:
            facts.append(f"  {fact.subject} {fact.kind}: {json.dumps(fact.value, separators=(',', ':'))} (from {fact.tool} {json.dumps(fact.arguments, sort_keys=True, separators=(',', ':'))})")
    lines = [*(skills[0] if skills else []), *facts, *(line for block in skills[1:] for line in block)]
    if not lines:
        return None
    header = SKILLS_HEADER if skills else FACTS_HEADER
    budget = max_tokens * CHARS_PER_TOKEN - len(header) - 1
    kept = []
    for line in lines:
        if len(line) + 1 > budget:
            break
        kept.append(line)
        budget -= len(line) + 1
    return "\n".join([header, *kept]) if kept else None


def _skill_lines(rank: int, skill: Skill) -> list[str]:
    lines = [f"Skill {rank + 1} [{skill.id}] ({', '.join(skill.task_types)}; success {skill.stats.successes}/{skill.stats.uses}): {skill.strategy}"]
    lines.append("  tools: " + " -> ".join(skill.workflow.tool_sequence()))
    if skill.required_evidence:
        lines.append("  evidence: " + "; ".join(skill.required_evidence))
    for lesson in sorted(skill.lessons, key=lambda l: -l.occurrences)[:3]:
        lines.append(f"  lesson ({lesson.kind.value}): {lesson.advice}")
    return lines
