"""Skill retrieval: admit, score, diversify.

1. Candidates: skills not retired whose scene traits admit the scene (source, frame count).
   There is no filter on the question-type label: it boosts (`task_match`), so a skill of a
   related type can still be found when the label is missing or new.
2. Score (weights in `RetrievalWeights`, defaults after the original system):
       semantic      · cosine(query embedding, skill embedding)
     + task_match    · 1 if the skill lists the question's type
     + scene         · closeness of the question's scene to the clusters the skill won in
                       (`skills.scene.similarity`, the best cluster; `scene_neutral` for a skill
                       without clusters or a question without a descriptor; a default with
                       `best_in` clusters: the closeness to them, at least `scene_neutral`)
     + tool_compat   · fraction of the workflow's tools the agent has
     + success       · (successes + 1) / (uses + 2)        (Laplace-smoothed success rate)
     + reward        · mean reward
     − lesson_penalty· min(1, occurrences of the skill's own failure lessons / (uses + 1))
   (own: the lesson's tool is in the skill's workflow and it is not a wrong-tool lesson, which
   records other tool chains failing)
3. Diversify with MMR over the best `pool` candidates: pick argmax of
   λ·score − (1 − λ)·max cosine to the already picked skills.
Every retrieval is logged with its component scores and returned as a `Retrieval` record.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from skill3d_eval.records import Sample
from skill3d_eval.skills.embedding import Embedder
from skill3d_eval.skills.model import FailureKind, Skill
from skill3d_eval.skills.scene import SceneDescriptor, similarity

logger = logging.getLogger(__name__)


class RetrievalWeights(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    top_k: int = Field(6, ge=1, description="skills handed to the policy per question")
    semantic: float = Field(0.45, description="weight of the embedding similarity of question and skill")
    task_match: float = Field(0.35, description="weight of the question-type match")
    scene: float = Field(0.25, description="weight of the closeness of the question's scene to the skill's scene clusters")
    scene_neutral: float = Field(0.5, ge=0.0, le=1.0, description="scene closeness of a skill without clusters, or of any skill when the question has no descriptor")
    tool_compat: float = Field(0.15, description="weight of the share of the skill's tools the agent has")
    success: float = Field(0.10, description="weight of the skill's smoothed success rate in its rollouts")
    reward: float = Field(0.05, description="weight of the skill's mean reward")
    lesson_penalty: float = Field(0.15, description="weight of the share of its uses in which the skill's own tools failed (subtracted)")
    mmr_lambda: float = Field(0.72, ge=0.0, le=1.0)
    pool: int = Field(32, ge=1, description="candidates MMR chooses from")


@dataclass(frozen=True)
class Hit:
    skill: Skill
    score: float
    components: dict[str, float]


@dataclass(frozen=True)
class Retrieval:
    query: str
    task_type: str | None
    hits: list[Hit] = field(default_factory=list)

    @property
    def skill_ids(self) -> list[str]:
        return [hit.skill.id for hit in self.hits]

    @property
    def scores(self) -> list[float]:
        return [round(hit.score, 4) for hit in self.hits]


def sample_source(sample: Sample) -> str:
    return sample.sample_id.split("/", 1)[0] if "/" in sample.sample_id else sample.task


class SkillIndex:
    """Skills with their cached embeddings and the per-skill arrays scoring needs, ready to query."""

    def __init__(self, skills: Sequence[Skill], embeddings: np.ndarray, embedder: Embedder, weights: RetrievalWeights | None = None):
        if embeddings.shape != (len(skills), embedder.dim):
            raise ValueError(f"embeddings of shape {embeddings.shape} do not fit {len(skills)} skills of dimension {embedder.dim}")
        self.skills = list(skills)
        self.embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
        self.embedder = embedder
        self.weights = weights or RetrievalWeights()
        self._active = np.array([i for i, s in enumerate(self.skills) if not s.retired], dtype=np.int64)
        stats = [s.stats for s in self.skills]
        self._success = np.array([(st.successes + 1) / (st.uses + 2) for st in stats], dtype=np.float32)
        self._reward = np.array([st.mean_reward for st in stats], dtype=np.float32)
        self._penalty = np.array([lesson_penalty(s) for s in self.skills], dtype=np.float32)
        self._min_frames = np.array([s.traits.min_frames for s in self.skills], dtype=np.int64)
        self._max_frames = np.array([s.traits.max_frames if s.traits.max_frames is not None else np.iinfo(np.int64).max for s in self.skills], dtype=np.int64)
        self._any_source = np.array([not s.traits.sources for s in self.skills], dtype=bool)
        self._source_ok: dict[str | None, np.ndarray] = {}
        self._tool_compat: dict[frozenset[str], np.ndarray] = {}
        self._task_match: dict[str | None, np.ndarray] = {}

    def _cached(self, cache: dict, key, compute) -> np.ndarray:
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    def _admitted(self, candidates: np.ndarray, source: str | None, frames: int) -> np.ndarray:
        """Scene traits, vectorised: per-source masks are computed once per source."""
        source_ok = self._cached(self._source_ok, source, lambda: self._any_source | np.array([source in s.traits.sources for s in self.skills], dtype=bool))
        keep = source_ok[candidates] & (self._min_frames[candidates] <= frames) & (frames <= self._max_frames[candidates])
        return candidates[keep]

    @classmethod
    def build(cls, skills: Sequence[Skill], embedder: Embedder, weights: RetrievalWeights | None = None) -> SkillIndex:
        vectors = embedder.encode([skill.embedding_text() for skill in skills]) if skills else np.zeros((0, embedder.dim), np.float32)
        return cls(skills, vectors, embedder, weights)

    def retrieve(
        self, sample: Sample, tools: Collection[str] | None = None, weights: RetrievalWeights | None = None, scene: SceneDescriptor | None = None
    ) -> Retrieval:
        w = weights or self.weights
        task_type = sample.task_type
        candidates = self._active
        frames = len(sample.frames)
        source = sample_source(sample)
        candidates = self._admitted(candidates, source, frames)
        if not len(candidates):
            logger.info("retrieval for %s: no candidate skills", sample.sample_id)
            return Retrieval(sample.question, task_type)
        query = self.embedder.encode([sample.question])[0]
        vectors = self.embeddings[candidates]
        semantic = vectors @ query
        task_match = self._cached(self._task_match, task_type, lambda: np.array([task_type in s.task_types for s in self.skills], dtype=np.float32))[candidates]
        if tools is None:
            tool_compat = np.ones(len(candidates), dtype=np.float32)
        else:
            available = frozenset(tools)
            tool_compat = self._cached(self._tool_compat, available, lambda: np.array([_fraction_available(s, available) for s in self.skills], dtype=np.float32))[candidates]
        closeness = np.array([_closeness(self.skills[i], scene, w.scene_neutral) for i in candidates], dtype=np.float32)
        components = {
            "semantic": semantic,
            "task_match": task_match,
            "scene": closeness,
            "tool_compat": tool_compat,
            "success": self._success[candidates],
            "reward": self._reward[candidates],
            "lesson_penalty": -self._penalty[candidates],
        }
        score = (
            w.semantic * semantic + w.task_match * task_match + w.scene * closeness + w.tool_compat * tool_compat
            + w.success * components["success"] + w.reward * components["reward"] - w.lesson_penalty * self._penalty[candidates]
        )
        if len(score) > w.pool:
            top = np.argpartition(-score, w.pool - 1)[: w.pool]
            pool = top[np.argsort(-score[top], kind="stable")]
        else:
            pool = np.argsort(-score, kind="stable")
        picked = _mmr(score[pool], vectors[pool], w.top_k, w.mmr_lambda)
        hits = [
            Hit(self.skills[candidates[pool[j]]], float(score[pool[j]]), {name: round(float(values[pool[j]]), 4) for name, values in components.items()})
            for j in picked
        ]
        retrieval = Retrieval(sample.question, task_type, hits)
        if logger.isEnabledFor(logging.INFO):
            logger.info("retrieval for %s: %s", sample.sample_id, [(h.skill.id, round(h.score, 4), h.components) for h in hits])
        return retrieval


def _closeness(skill: Skill, scene: SceneDescriptor | None, neutral: float) -> float:
    if scene is None:
        return neutral
    if skill.traits.clusters:
        return max(similarity(scene, cluster) for cluster in skill.traits.clusters)
    return max([neutral, *(similarity(scene, cluster) for cluster in skill.traits.best_in)])


def lesson_penalty(skill: Skill) -> float:
    tools = set(skill.workflow.tool_sequence())
    own = sum(l.occurrences for l in skill.lessons if l.tool in tools and l.kind != FailureKind.wrong_tool)
    return min(1.0, own / (skill.stats.uses + 1))


def _fraction_available(skill: Skill, tools: Collection[str]) -> float:
    sequence = skill.workflow.tool_sequence()
    return sum(tool in tools for tool in sequence) / len(sequence)


def _mmr(scores: np.ndarray, vectors: np.ndarray, k: int, lam: float) -> list[int]:
    picked: list[int] = []
    redundancy = np.full(len(scores), -np.inf, dtype=np.float32)
    available = np.ones(len(scores), dtype=bool)
    for _ in range(min(k, len(scores))):
        value = lam * scores - (1 - lam) * np.where(np.isfinite(redundancy), redundancy, 0.0)
        value[~available] = -np.inf
        best = int(np.argmax(value))
        picked.append(best)
        available[best] = False
        redundancy = np.maximum(redundancy, vectors @ vectors[best])
    return picked
