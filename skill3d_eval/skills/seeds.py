"""Seed skills: one hand-written workflow per question type our tools can answer, shipped as data."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from skill3d_eval.settings import REPO_ROOT
from skill3d_eval.skills.embedding import LexicalEmbedder
from skill3d_eval.skills.model import Skill
from skill3d_eval.skills.snapshot import FrozenLibrary

SEED_DIR = REPO_ROOT / "skill_store" / "seeds"
# Alternative tool chains for exploration rollouts on the training split (most of them answer badly).
EXPLORE_DIR = REPO_ROOT / "skill_store" / "explore"
# The seeds' workflows with the tools' other 3D source and object source: which answers best
# depends on the scene (benchmarks/skills_evolved_vs_seed.py explores them).
VARIANTS_DIR = REPO_ROOT / "skill_store" / "variants"


class SeedError(ValueError):
    pass


def load_seed_skills(directory: Path = SEED_DIR) -> list[Skill]:
    skills = []
    for path in sorted(directory.glob("*.json")):
        try:
            skills.append(Skill.model_validate(json.loads(path.read_text())))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise SeedError(f"seed skill {path}: {exc}") from exc
    if not skills:
        raise SeedError(f"no seed skills in {directory}")
    return skills


@lru_cache(maxsize=1)
def seed_library() -> FrozenLibrary:
    """The seeds as an in-memory library (lexical scorer: candidates are filtered by task type anyway)."""
    return FrozenLibrary.in_memory(load_seed_skills(), LexicalEmbedder())
