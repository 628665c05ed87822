"""Evolution: training-split rollouts in, promoted skills, lessons and retirements out.

Rollouts are grouped by (task type, scene source, induced workflow: question pattern and
templated tool steps). A group becomes a skill only through the gate: at least
`min_successes` successful rollouts and a success rate no lower than the task type's baseline
(its success rate over all rollouts of that type) plus `baseline_margin`; its final
computation must be one every successful rollout agrees on. A group whose workflow matches a
skill already in the store is merged into it (stats and provenance added), not duplicated.
Failed rollouts become lessons keyed by (task type, failure kind, tool) and are attached to
the task type's skills. Skills whose smoothed success rate falls more than `retire_margin`
below the best alternative for the same task type are retired. Test-split rollouts are refused.
A promoted skill names its benchmark family (`Skill.family`), told by the reference rows' columns
as the scorer tells them, so one library pools the families (`skills.families`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from skill3d_eval.records import Trajectory
from skill3d_eval.skills.induce import Induced, final_candidates, induce, reproduces
from skill3d_eval.skills.model import (
    FailureKind,
    Lesson,
    Provenance,
    SceneTraits,
    Skill,
    SkillStats,
    Workflow,
)
from skill3d_eval.skills.references import Reference, reference_of, split_of
from skill3d_eval.skills.store import SkillStore

REFUSED_SPLITS = {"test", "validation", "val", "dev"}


class EvolutionError(ValueError):
    pass


class EvolutionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    split: str = "train"
    success_threshold: float = Field(0.5, ge=0, le=1, description="score at which a rollout counts as a success")
    min_successes: int = Field(3, ge=1)
    baseline_margin: float = 0.0
    retire_margin: float = Field(0.2, ge=0)
    min_uses_to_retire: int = Field(5, ge=1)


@dataclass
class Rollout:
    trajectory: Trajectory
    reference: Reference
    task_type: str
    score: float
    success: bool
    induced: Induced | None


@dataclass
class EvolutionReport:
    promoted: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    lessons: dict[str, int] = field(default_factory=dict)
    retired: list[str] = field(default_factory=list)
    baselines: dict[str, float] = field(default_factory=dict)
    library_version: int = 0


def refuse_other_splits(trajectories: list[Trajectory], split: str) -> None:
    if split in REFUSED_SPLITS:
        raise EvolutionError(f"--split {split}: skills are evolved from training rollouts only; evaluation splits are refused")
    wrong = [t.sample_id for t in trajectories if split_of(t.sample_id) != split]
    if wrong:
        raise EvolutionError(f"{len(wrong)} trajectories are not from split {split!r} (e.g. {', '.join(wrong[:3])}): evolution refuses them")


def evolve(store: SkillStore, trajectories: list[Trajectory], references: dict[int, Reference], config: EvolutionConfig | None = None) -> EvolutionReport:
    config = config or EvolutionConfig()
    refuse_other_splits(trajectories, config.split)
    rollouts = [_rollout(t, references, config) for t in trajectories]
    report = EvolutionReport()
    totals: dict[str, list[bool]] = defaultdict(list)
    for rollout in rollouts:
        totals[rollout.task_type].append(rollout.success)
    report.baselines = {task: sum(flags) / len(flags) for task, flags in totals.items()}

    stored = {skill.id: skill for skill in store.skills(include_retired=True)}
    existing = {_signature(s.task_types[0], s.workflow): s for s in stored.values()}
    version = store.library_version() + 1
    updated: dict[str, Skill] = {}
    groups: dict[tuple, list[Rollout]] = defaultdict(list)
    for rollout in rollouts:
        if rollout.induced is not None:
            key = (rollout.task_type, rollout.reference.source, rollout.induced.question_pattern, _steps_key(rollout.induced))
            groups[key].append(rollout)
    for key, members in sorted(groups.items(), key=lambda item: item[0][:3]):
        task_type = key[0]
        name = f"{task_type}: {' -> '.join(members[0].induced.tool_sequence)}"  # type: ignore[union-attr]
        successes = [m for m in members if m.success]
        rate = len(successes) / len(members)
        if len(successes) < config.min_successes:
            report.rejected[f"{name} [{key[2]}]"] = f"{len(successes)} successes < {config.min_successes}"
            continue
        if rate < report.baselines[task_type] + config.baseline_margin:
            report.rejected[f"{name} [{key[2]}]"] = f"success rate {rate:.2f} below the baseline {report.baselines[task_type]:.2f}"
            continue
        workflow = _workflow(successes)
        if workflow is None:
            report.rejected[f"{name} [{key[2]}]"] = "no final computation reproduces every successful answer"
            continue
        signature = _signature(task_type, workflow)
        stats = SkillStats(uses=len(members), successes=len(successes), reward_sum=sum(m.score for m in members))
        provenance = Provenance(
            origin="evolved",
            split=config.split,
            sample_ids=sorted({m.trajectory.sample_id for m in members}),
            scenes=sorted({m.trajectory.scene or m.reference.scene or "" for m in members} - {""}),
            questions=sorted({m.trajectory.question for m in members}),
            library_version=version,
        )
        previous = updated.get(signature) or existing.get(signature)
        if previous is not None:
            skill = _merge(previous, stats, provenance)
            report.merged.append(skill.id)
        else:
            skill = Skill(
                id=f"evolved.{_slug(task_type)}.{signature[:10]}",
                task_types=[task_type],
                family=members[0].reference.family,
                traits=SceneTraits(sources=[key[1]] if key[1] else []),
                trigger=f"{task_type.replace('_', ' ')}: {workflow.question_pattern}",
                workflow=workflow,
                strategy=_strategy(workflow),
                required_evidence=[f"observation of {tool}" for tool in workflow.tool_sequence()],
                stop_conditions=[f"{workflow.final.op} of {workflow.final.path or 'the observation'} is available"],
                stats=stats,
                provenance=provenance,
            )
            report.promoted.append(skill.id)
        updated[signature] = skill

    # From here on skills are keyed by id: distinct skills may share a workflow.
    changed = {skill.id: skill for skill in updated.values()}
    library = stored | changed
    lessons = _lessons(rollouts, changed.values())
    for skill in list(library.values()):
        own = [lesson for lesson in lessons if skill.task_types[0] in lesson.applies_to]
        if own and not skill.retired:
            library[skill.id] = changed[skill.id] = skill.model_copy(update={"lessons": _merge_lessons(skill.lessons, own)})
            report.lessons[skill.id] = sum(l.occurrences for l in own)
    report.retired = _retire(list(library.values()), config)
    for skill_id in report.retired:
        changed[skill_id] = library[skill_id].model_copy(update={"retired": True})
    # replaces=stored: uses recorded meanwhile stay, merged rollout counts add on top, a concurrent edit raises SkillChanged.
    store.put_many(changed.values(), replaces=stored)
    report.library_version = store.bump_version()
    return report


def _rollout(trajectory: Trajectory, references: dict[int, Reference], config: EvolutionConfig) -> Rollout:
    reference = reference_of(trajectory, references)
    if trajectory.question and reference.scene and trajectory.scene and trajectory.scene != reference.scene:
        raise EvolutionError(f"trajectory {trajectory.sample_id}: scene {trajectory.scene!r} differs from the reference row's {reference.scene!r}")
    score = reference.score(trajectory.answer) if trajectory.stop_reason != "error" else 0.0
    return Rollout(trajectory, reference, trajectory.task_type or reference.question_type, score, score >= config.success_threshold, induce(trajectory, reference.options))


def _slug(task_type: str) -> str:
    """A question type as a skill id allows it: 'Positional Relationship (Cam.-Obj.)' -> 'positional_relationship_cam_obj'."""
    return re.sub(r"[^a-z0-9]+", "_", task_type.lower()).strip("_")


def _steps_key(induced: Induced) -> str:
    return json.dumps([step.model_dump() for step in induced.steps], sort_keys=True)


def _signature(task_type: str, workflow: Workflow) -> str:
    body = json.dumps({"task": task_type, "pattern": workflow.question_pattern.lower(), "steps": [s.model_dump() for s in workflow.steps], "final": workflow.final.model_dump()}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def _workflow(successes: list[Rollout]) -> Workflow | None:
    first = successes[0].induced
    assert first is not None
    for final in final_candidates(first.observations):
        if all(reproduces(final, m.induced.observations, m.reference.options, m.trajectory.answer) for m in successes if m.induced):  # type: ignore[union-attr]
            return Workflow(question_pattern=first.question_pattern, steps=list(first.steps), final=final, fallbacks=dict(first.fallbacks))
    return None


def _merge(skill: Skill, stats: SkillStats, provenance: Provenance) -> Skill:
    old = skill.stats
    merged_stats = SkillStats(uses=old.uses + stats.uses, successes=old.successes + stats.successes, reward_sum=old.reward_sum + stats.reward_sum, last_used=old.last_used)
    p = skill.provenance
    merged_provenance = p.model_copy(update={
        "sample_ids": sorted(set(p.sample_ids) | set(provenance.sample_ids)),
        "scenes": sorted(set(p.scenes) | set(provenance.scenes)),
        "questions": sorted(set(p.questions) | set(provenance.questions)),
        "split": p.split or provenance.split,
        "library_version": provenance.library_version,
    })
    return skill.model_copy(update={"stats": merged_stats, "provenance": merged_provenance, "retired": False})


def _strategy(workflow: Workflow) -> str:
    calls = "; then ".join(f"call {s.tool}({', '.join(f'{k}={v}' for k, v in s.arguments.items())})" for s in workflow.steps)
    final = workflow.final
    scale = f" times {final.scale:g}" if final.scale != 1 else ""
    return f"Fill the slots from the question, {calls}. Answer with the {final.op} of {final.path or 'the observation'} (step {final.step}){scale}."


ADVICE = {
    FailureKind.missing_evidence: "Call a tool before answering: answers without observations were wrong.",
    FailureKind.invalid_tool_input: "Check the tool's argument schema (image indices, category names as written in the question).",
    FailureKind.tool_failure: "When this tool fails, use the skill's fallback or another tool that gives the same evidence.",
    FailureKind.unsupported_answer: "Answer in the benchmark's form (a bare number or an option letter) computed from the observations.",
    FailureKind.wrong_tool: "This tool chain gave wrong answers for this question type; follow the promoted workflow instead.",
    FailureKind.wrong_answer: "The evidence was collected but the answer was wrong: recompute it from the observation fields the workflow names.",
}


# How the tool layer words errors in the caller's arguments (schema, JSON, references out of range).
INVALID_INPUT_MARKERS = ("invalid arguments", "not valid JSON", "must be a JSON object", "out of range", "lies outside")


def classify(rollout: Rollout, promoted_sequences: set[tuple[str, ...]]) -> tuple[FailureKind, str | None]:
    trajectory = rollout.trajectory
    failed = [o for turn in trajectory.turns for o in turn.observations if not o.ok]
    if failed and trajectory.stop_reason == "error":
        invalid = any(marker in (o.error or "") for o in failed for marker in INVALID_INPUT_MARKERS)
        return (FailureKind.invalid_tool_input if invalid else FailureKind.tool_failure), failed[-1].name
    if trajectory.tool_calls == 0:
        return FailureKind.missing_evidence, None
    if not trajectory.answer.strip():
        return FailureKind.unsupported_answer, None
    sequence = rollout.induced.tool_sequence if rollout.induced else ()
    if promoted_sequences and sequence not in promoted_sequences:
        return FailureKind.wrong_tool, sequence[0] if sequence else None
    return FailureKind.wrong_answer, sequence[-1] if sequence else None


def _lessons(rollouts: list[Rollout], promoted: object) -> list[Lesson]:
    sequences: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for skill in promoted:  # type: ignore[attr-defined]
        sequences[skill.task_types[0]].add(skill.workflow.tool_sequence())
    counts: dict[tuple[str, FailureKind, str | None], list[Rollout]] = defaultdict(list)
    for rollout in rollouts:
        if not rollout.success:
            kind, tool = classify(rollout, sequences[rollout.task_type])
            counts[(rollout.task_type, kind, tool)].append(rollout)
    lessons = []
    for (task_type, kind, tool), members in sorted(counts.items(), key=lambda item: (item[0][0], item[0][1].value, item[0][2] or "")):
        example = members[0].trajectory
        what = f"{len(members)} rollout(s) failed ({kind.value}){f' with {tool}' if tool else ''}, e.g. {example.sample_id}: {example.error or 'answer ' + repr(example.answer)}"
        lessons.append(Lesson(kind=kind, what_went_wrong=what[:400], advice=ADVICE[kind], applies_to=[task_type], tool=tool, occurrences=len(members)))
    return lessons


def _merge_lessons(current: list[Lesson], new: list[Lesson]) -> list[Lesson]:
    merged = {(l.kind, l.tool, tuple(l.applies_to)): l for l in current}
    for lesson in new:
        key = (lesson.kind, lesson.tool, tuple(lesson.applies_to))
        if key in merged:
            old = merged[key]
            merged[key] = old.model_copy(update={"occurrences": old.occurrences + lesson.occurrences, "what_went_wrong": lesson.what_went_wrong})
        else:
            merged[key] = lesson
    return list(merged.values())


def _retire(skills: list[Skill], config: EvolutionConfig) -> list[str]:
    by_type: dict[str, list[Skill]] = defaultdict(list)
    for skill in skills:
        if not skill.retired:
            by_type[skill.task_types[0]].append(skill)
    retired = []
    for members in by_type.values():
        rated = [(s, (s.stats.successes + 1) / (s.stats.uses + 2)) for s in members if s.stats.uses >= config.min_uses_to_retire]
        if len(rated) < 2:
            continue
        best = max(rate for _, rate in rated)
        retired += [s.id for s, rate in rated if rate < best - config.retire_margin]
    return sorted(retired)
