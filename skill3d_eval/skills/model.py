"""The Skill Library's records: skills (executable workflows plus advice), lessons and their stats.

A skill is data, never code: its workflow is an ordered list of tool calls whose string
arguments are templates over slots read from the question, and a final computation chosen from
a fixed set of named operations (`FinalOp`). That keeps a library safe to load from anywhere
and lets evolution induce new skills from trajectories without writing Python.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from skill3d_eval.scoring.dispatch import Family
from skill3d_eval.skills.scene import SceneDescriptor

SLOT = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
# Slots a workflow may use without reading them from the question.
BUILTIN_SLOTS = {"options", "option_items"}


class FailureKind(str, Enum):
    """Why a rollout failed: a fixed taxonomy so lessons with the same signature merge."""

    missing_evidence = "missing_evidence"
    wrong_tool = "wrong_tool"
    invalid_tool_input = "invalid_tool_input"
    ignored_observation = "ignored_observation"
    unsupported_answer = "unsupported_answer"
    tool_failure = "tool_failure"
    wrong_answer = "wrong_answer"


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Step(Frozen):
    """One tool call; string arguments may hold `{slot}` templates, `"{options}"` is the option list."""

    tool: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)

    def slots(self) -> set[str]:
        values = [v for value in self.arguments.values() for v in (value if isinstance(value, list) else [value])]
        return {name for value in values if isinstance(value, str) for name in SLOT.findall(value)}


FinalOp = Literal["value", "count", "max", "distance", "choose_min", "choose_max", "choose_order", "choose_match"]


class FinalComputation(Frozen):
    """How the answer is computed from the observations; `path` is dotted, list indices are integers.

    value: the number at `path` of `step` times `scale`; count: the length of the list at path;
    max: the largest number of the list at path times scale; distance: Euclidean distance between
    the vectors at (step, path) and (step_b, path_b), times scale; choose_min / choose_max: the
    option letter whose text keys the smallest / largest value of the mapping at path;
    choose_order: the option letter listing items in increasing order of the mapping at path;
    choose_match: the option letter whose text equals the string at path (case and spacing ignored).
    """

    op: FinalOp
    step: int = Field(0, ge=0)
    path: str = ""
    step_b: int | None = Field(None, ge=0)
    path_b: str | None = None
    scale: float = 1.0

    @model_validator(mode="after")
    def _distance_needs_two_vectors(self) -> FinalComputation:
        if self.op == "distance" and (self.step_b is None or self.path_b is None):
            raise ValueError("final op 'distance' needs step_b and path_b")
        return self


class Workflow(Frozen):
    """Ordered tool steps with slot templates, the question pattern that fills the slots, the final computation.

    `question_pattern` is the question with its entities replaced by `{slot}`; literal text must
    match (case-insensitively), each slot matches a short phrase.
    """

    question_pattern: str = Field(min_length=1)
    steps: list[Step] = Field(min_length=1)
    final: FinalComputation
    fallbacks: dict[str, str] = Field(default_factory=dict, description="failed tool -> tool to try with the same arguments")

    @model_validator(mode="after")
    def _slots_are_defined(self) -> Workflow:
        defined = set(SLOT.findall(self.question_pattern)) | BUILTIN_SLOTS
        for index, step in enumerate(self.steps):
            missing = step.slots() - defined
            if missing:
                raise ValueError(f"step {index} ({step.tool}) uses slots {sorted(missing)} the question pattern does not define")
        for index in (self.final.step, self.final.step_b):
            if index is not None and index >= len(self.steps):
                raise ValueError(f"final computation reads step {index}, the workflow has {len(self.steps)} steps")
        return self

    def tool_sequence(self) -> tuple[str, ...]:
        return tuple(step.tool for step in self.steps)


class SceneTraits(Frozen):
    """Which scenes a skill applies to; an empty field matches every scene.

    `sources` and the frame range admit or exclude; `clusters` and `best_in` only rank. `clusters`
    makes a specialist: the centres of the scene clusters in which evolution found this skill's
    workflow best, and retrieval prefers it the closer a question's scene is to one of them (none:
    every scene alike). `best_in` is the type's scene-agnostic default's own territory: the
    clusters where it stayed best when specialists were promoted for others. Without it a
    specialist would win every scene moderately near its centre, including scenes much nearer a
    cluster where the default beat it (measured in `benchmarks/skills_evolved_vs_seed.py`: such
    test scenes went to a medium-room specialist and scored 0.3-0.6 where the default scored 1.0)."""

    sources: list[str] = Field(default_factory=list, description="dataset / scene source, e.g. spatial_synth, scannet")
    min_frames: int = Field(0, ge=0)
    max_frames: int | None = Field(None, ge=0)
    clusters: list[SceneDescriptor] = Field(default_factory=list, description="scene clusters this skill won in (retrieval ranks by closeness)")
    best_in: list[SceneDescriptor] = Field(
        default_factory=list, description="of a scene-agnostic default: the clusters where it stayed best beside specialists (closeness never below neutral)"
    )

    def matches(self, source: str | None, frames: int) -> bool:
        if self.sources and source not in self.sources:
            return False
        return frames >= self.min_frames and (self.max_frames is None or frames <= self.max_frames)


class Lesson(Frozen):
    kind: FailureKind
    what_went_wrong: str = Field(min_length=1)
    advice: str = Field(min_length=1)
    applies_to: list[str] = Field(default_factory=list, description="task types")
    tool: str | None = None
    scene_condition: str | None = Field(None, description="the kind of scene the failures happened in (skills.scene), when known")
    occurrences: int = Field(1, ge=1)


class SkillStats(Frozen):
    uses: int = Field(0, ge=0)
    successes: int = Field(0, ge=0)
    reward_sum: float = 0.0
    last_used: datetime | None = None

    @property
    def success_rate(self) -> float:
        return self.successes / self.uses if self.uses else 0.0

    @property
    def mean_reward(self) -> float:
        return self.reward_sum / self.uses if self.uses else 0.0

    @model_validator(mode="after")
    def _successes_within_uses(self) -> SkillStats:
        if self.successes > self.uses:
            raise ValueError(f"successes ({self.successes}) exceed uses ({self.uses})")
        return self


class Provenance(Frozen):
    origin: Literal["seed", "evolved", "distilled"] = "seed"
    split: str | None = None
    sample_ids: list[str] = Field(default_factory=list, description="the rollouts a skill was induced from")
    scenes: list[str] = Field(default_factory=list)
    questions: list[str] = Field(default_factory=list)
    library_version: int = 0


class Skill(Frozen):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.:-]{0,127}$")
    task_types: list[str] = Field(min_length=1)
    family: Family | None = Field(
        None, description="benchmark family of the questions it answers, as the scorer tells a row's (vsi_bench, cvbench, blink, mmsi): one library pools all four"
    )
    traits: SceneTraits = Field(default_factory=SceneTraits)
    trigger: str = Field(min_length=1, description="when to use it, in words: also the text retrieval embeds")
    workflow: Workflow
    strategy: str = Field(min_length=1, description="natural-language strategy for an LLM agent")
    required_evidence: list[str] = Field(default_factory=list)
    stop_conditions: list[str] = Field(default_factory=list)
    lessons: list[Lesson] = Field(default_factory=list)
    stats: SkillStats = Field(default_factory=SkillStats)
    provenance: Provenance = Field(default_factory=Provenance)
    retired: bool = False

    @field_validator("task_types")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"task_types repeat: {value}")
        return value

    def embedding_text(self) -> str:
        """What retrieval embeds: the trigger, task types and tool chain, not the volatile stats."""
        return f"{self.trigger} | tasks: {', '.join(self.task_types)} | tools: {' -> '.join(self.workflow.tool_sequence())}"
