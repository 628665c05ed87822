"""Evolution: training-split rollouts in, promoted skills, lessons and retirements out.

Rollouts are grouped by (task type, scene source, induced workflow: question pattern and
templated tool steps; a rollout whose every call failed joins the group of the workflow it
attempted, as a failure), and the training scenes are clustered by the scene descriptor each
rollout recorded (`skills.scene`, k-means, `clusters`). Promotion uses lower confidence bounds
(mean − z·sd/√n, `confidence_z`, sd at least `min_sd`), so a workflow seen on three lucky
questions does not beat one seen on thirty:

- per task type, the workflow with the best bound on its mean score over all scenes becomes (or
  merges into) the type's skill without clusters, the default for any scene;
- per (scene cluster, task type), the other workflow whose score *minus the default's on the
  same questions* has the best positive lower bound in that cluster becomes a skill keyed by the
  cluster's centre: retrieval then prefers it for scenes like those (several clusters with the
  same winner merge into one skill). Exploration answers the same training questions with
  every workflow, so the comparison is paired; without common questions the contender's bound
  must exceed the default's mean.

Both need `min_successes` successful rollouts and a final computation every successful rollout
of the group agrees on. A workflow matching a skill already in the store is merged into it
(stats and provenance added), not duplicated; so is a group with a stored skill's very steps
whose final computation that skill's own also reproduces (a seed that answered its questions is
that seed, not an "evolved" skill reading another field). Failed rollouts become lessons keyed by (task
type, failure kind, tool, scene cluster) that say which step failed in which kind of scene;
rollouts that failed for the harness's own reasons (an expert unreachable, a crash outside the
workflow) teach nothing about skills and are left out. Skills whose smoothed success rate falls
more than `retire_margin` below the best alternative for the same task type are retired, unless
they are keyed by scene cluster (their stats are their cluster's), and so are stored scene-agnostic
skills whose workflow the type's new default confidently beats on the same questions (a seed that
lost). Test-split rollouts are refused.
A promoted skill names its benchmark family (`Skill.family`), told by the reference rows' columns
as the scorer tells them, so one library pools the families (`skills.families`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from skill3d_eval.records import Trajectory
from skill3d_eval.skills.induce import Induced, final_candidates, induce, reproduces
from skill3d_eval.skills.model import (
    FailureKind,
    FinalComputation,
    Lesson,
    Provenance,
    SceneTraits,
    Skill,
    SkillStats,
    Step,
    Workflow,
)
from skill3d_eval.skills.references import Reference, reference_of, split_of
from skill3d_eval.skills.scene import SceneDescriptor, cluster_scenes
from skill3d_eval.skills.store import SkillStore

REFUSED_SPLITS = {"test", "validation", "val", "dev"}


class EvolutionError(ValueError):
    pass


class EvolutionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    split: str = "train"
    success_threshold: float = Field(0.5, ge=0, le=1, description="score at which a rollout counts as a success")
    min_successes: int = Field(3, ge=1)
    clusters: int = Field(4, ge=1, description="scene clusters (k-means on the rollouts' scene descriptors)")
    confidence_z: float = Field(1.64, ge=0, description="z of the lower confidence bounds promotion compares workflows by")
    min_sd: float = Field(0.05, gt=0, description="floor of the score's standard deviation in those bounds (no certainty from a few equal scores)")
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
    cluster: int | None = None


@dataclass
class EvolutionReport:
    promoted: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    lessons: dict[str, int] = field(default_factory=dict)
    retired: list[str] = field(default_factory=list)
    baselines: dict[str, float] = field(default_factory=dict)
    clusters: list[SceneDescriptor] = field(default_factory=list)
    cluster_skills: dict[str, list[int]] = field(default_factory=dict)
    best_in: dict[str, list[int]] = field(default_factory=dict)  # a type's default: the clusters it kept beside that type's cluster skills
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
    report.clusters = _assign_clusters(rollouts, config)
    totals: dict[str, list[bool]] = defaultdict(list)
    for rollout in rollouts:
        totals[rollout.task_type].append(rollout.success)
    report.baselines = {task: sum(flags) / len(flags) for task, flags in totals.items()}

    stored = {skill.id: skill for skill in store.skills(include_retired=True)}
    existing = {_signature(s.task_types[0], s.workflow, bool(s.traits.clusters)): s for s in stored.values()}
    # A stored skill's pattern may be shorter than the induced one (it matches anywhere in the prompt): same task, same steps, same workflow.
    by_steps = {(s.task_types[0], _steps_key(s.workflow.steps)): s for s in stored.values() if not s.traits.clusters}
    version = store.library_version() + 1
    updated: dict[str, Skill] = {}
    groups: dict[tuple, list[Rollout]] = defaultdict(list)
    for rollout in rollouts:
        if rollout.induced is not None:
            key = (rollout.task_type, rollout.reference.source, rollout.induced.question_pattern, _steps_key(rollout.induced.steps))
            groups[key].append(rollout)
    by_task: dict[str, list[tuple]] = defaultdict(list)
    for key in sorted(groups, key=lambda k: k[:3] + (k[3],)):
        by_task[key[0]].append(key)

    def promote(key: tuple, members: list[Rollout], cluster: SceneDescriptor | None) -> Skill | None:
        task_type = key[0]
        successes = [m for m in members if m.success]
        twin = by_steps.get((task_type, key[3]))
        # The stored skill with these very steps, when its own final computation answers every
        # success too: the group is that skill's rollouts, not a new skill computing the answer another way.
        workflow = twin.workflow if twin is not None and _reproduces_all(twin.workflow.final, successes) else _workflow(successes)
        if workflow is None:
            report.rejected[_name(key, members)] = "no final computation reproduces every successful answer"
            return None
        signature = _signature(task_type, workflow, cluster is not None)
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
            skill = _merge(previous, stats, provenance, cluster)
            report.merged.append(skill.id)
        else:
            skill = Skill(
                id=f"evolved.{_slug(task_type)}.{signature[:10]}",
                task_types=[task_type],
                family=members[0].reference.family,
                traits=SceneTraits(sources=[key[1]] if key[1] else [], clusters=[cluster] if cluster is not None else []),
                trigger=f"{task_type.replace('_', ' ')}: {workflow.question_pattern}" + (f" (scenes like: {cluster.describe()})" if cluster is not None else ""),
                workflow=workflow,
                strategy=_strategy(workflow),
                required_evidence=[f"observation of {tool}" for tool in workflow.tool_sequence()],
                stop_conditions=[f"{workflow.final.op} of {workflow.final.path or 'the observation'} is available"],
                stats=stats,
                provenance=provenance,
            )
            report.promoted.append(skill.id)
        updated[signature] = skill
        return skill

    outclassed: set[str] = set()  # stored scene-agnostic skills the type's new default confidently beats
    for task_type, keys in by_task.items():
        eligible = [k for k in keys if _successes(groups[k]) >= config.min_successes]
        for key in keys:
            if key not in eligible:
                report.rejected[_name(key, groups[key])] = f"{_successes(groups[key])} successes < {config.min_successes}"
        ranked = sorted(eligible, key=lambda k: (-_lower_bound(groups[k], config), -len(groups[k]), _complexity(groups[k])))
        default, default_skill = None, None
        for key in ranked:
            default_skill = promote(key, groups[key], None)
            if default_skill is not None:
                default = key
                break
        for key in ranked:
            if key != default and _name(key, groups[key]) not in report.rejected:
                report.rejected[_name(key, groups[key])] = "a workflow with a higher lower confidence bound is the type's default"
        for key in keys:
            loser = by_steps.get((key[0], key[3]))
            if default is not None and key != default and loser is not None and _gain_bound(groups[default], groups[key], config) > 0:
                outclassed.add(loser.id)
        taken: set[int] = set()
        for index, centre in enumerate(report.clusters):
            inside = {k: [m for m in groups[k] if m.cluster == index] for k in keys}
            baseline = inside[default] if default is not None else []
            gains = {
                k: _gain_bound(inside[k], baseline, config)
                for k in keys if k != default and _successes(inside[k]) >= config.min_successes
            }
            for key in sorted(gains, key=lambda k: (-gains[k], -len(inside[k]))):
                if gains[key] <= 0:
                    break
                skill = promote(key, inside[key], centre)
                if skill is not None:
                    report.cluster_skills.setdefault(skill.id, []).append(index)
                    report.rejected.pop(_name(key, groups[key]), None)
                    taken.add(index)
                    break
        if taken and default_skill is not None:
            # The default's territory is this clustering's: it replaces what an earlier evolution recorded.
            kept = [index for index in range(len(report.clusters)) if index not in taken]
            signature = next(sig for sig, skill in updated.items() if skill is default_skill)
            traits = default_skill.traits.model_copy(update={"best_in": [report.clusters[index] for index in kept]})
            updated[signature] = default_skill.model_copy(update={"traits": traits})
            report.best_in[default_skill.id] = kept

    # A stored skill whose workflow ran but was not promoted still learns how it did: its stats
    # take the rollouts, so retirement can compare it with the winner.
    promoted_ids = {skill.id for skill in updated.values()}
    for key, members in groups.items():
        stored_skill = by_steps.get((key[0], key[3]))
        if stored_skill is not None and stored_skill.id not in promoted_ids:
            stats = SkillStats(uses=len(members), successes=_successes(members), reward_sum=sum(m.score for m in members))
            provenance = Provenance(origin="evolved", split=config.split, sample_ids=sorted({m.trajectory.sample_id for m in members}), library_version=version)
            updated[f"stats:{stored_skill.id}"] = _merge(stored_skill, stats, provenance)
            report.merged.append(stored_skill.id)

    # From here on skills are keyed by id: distinct skills may share a workflow.
    changed = {skill.id: skill for skill in updated.values()}
    library = stored | changed
    lessons = _lessons(rollouts, changed.values(), report.clusters)
    for skill in list(library.values()):
        own = [lesson for lesson in lessons if skill.task_types[0] in lesson.applies_to]
        if own and not skill.retired:
            library[skill.id] = changed[skill.id] = skill.model_copy(update={"lessons": _merge_lessons(skill.lessons, own)})
            report.lessons[skill.id] = sum(l.occurrences for l in own)
    report.retired = sorted(set(_retire(list(library.values()), config)) | (outclassed & set(library)))
    for skill_id in report.retired:
        changed[skill_id] = library[skill_id].model_copy(update={"retired": True})
    # replaces=stored: uses recorded meanwhile stay, merged rollout counts add on top, a concurrent edit raises SkillChanged.
    store.put_many(changed.values(), replaces=stored)
    report.library_version = store.bump_version()
    return report


def _name(key: tuple, members: list[Rollout]) -> str:
    return f"{key[0]}: {' -> '.join(members[0].induced.tool_sequence)} [{key[2]}]"  # type: ignore[union-attr]


def _complexity(members: list[Rollout]) -> int:
    """Steps plus fixed arguments: on a tie the simpler workflow (the tools' defaults) wins."""
    steps = members[0].induced.steps  # type: ignore[union-attr]
    return len(steps) + sum(not (isinstance(v, str) and "{" in v) for step in steps for v in step.arguments.values())


def _successes(members: list[Rollout]) -> int:
    return sum(m.success for m in members)


def _mean(members: list[Rollout]) -> float:
    return sum(m.score for m in members) / len(members) if members else 0.0


def _bound(values: list[float], z: float, min_sd: float) -> float:
    """Lower confidence bound of the mean of `values`."""
    if not values:
        return -math.inf
    sd = max(float(np.std(values, ddof=1)) if len(values) > 1 else min_sd, min_sd)
    return float(np.mean(values)) - z * sd / math.sqrt(len(values))


def _lower_bound(members: list[Rollout], config: EvolutionConfig) -> float:
    return _bound([m.score for m in members], config.confidence_z, config.min_sd)


def _gain_bound(members: list[Rollout], baseline: list[Rollout], config: EvolutionConfig) -> float:
    """Lower bound of how much `members`' workflow beats the baseline's: paired over the questions
    both answered, else the contender's bound minus the baseline's mean."""
    theirs = {m.trajectory.sample_id: m.score for m in baseline}
    paired = [m.score - theirs[m.trajectory.sample_id] for m in members if m.trajectory.sample_id in theirs]
    if len(paired) >= config.min_successes:
        return _bound(paired, config.confidence_z, config.min_sd)
    return _lower_bound(members, config) - (_mean(baseline) if baseline else 0.0)


def _assign_clusters(rollouts: list[Rollout], config: EvolutionConfig) -> list[SceneDescriptor]:
    """Cluster the training scenes (one descriptor per scene and frame count, as first recorded)."""
    scenes: dict[tuple, SceneDescriptor] = {}
    for rollout in rollouts:
        descriptor = rollout.trajectory.scene_descriptor
        if descriptor is not None:
            scenes.setdefault(_scene_key(rollout), SceneDescriptor.model_validate(descriptor))
    centres, labels = cluster_scenes(list(scenes.values()), config.clusters)
    label_of = dict(zip(scenes, labels))
    for rollout in rollouts:
        rollout.cluster = label_of.get(_scene_key(rollout))
    return centres


def _scene_key(rollout: Rollout) -> tuple:
    descriptor = rollout.trajectory.scene_descriptor or {}
    return (rollout.trajectory.scene or rollout.trajectory.sample_id, descriptor.get("frames"))


def _rollout(trajectory: Trajectory, references: dict[int, Reference], config: EvolutionConfig) -> Rollout:
    reference = reference_of(trajectory, references)
    if trajectory.question and reference.scene and trajectory.scene and trajectory.scene != reference.scene:
        raise EvolutionError(f"trajectory {trajectory.sample_id}: scene {trajectory.scene!r} differs from the reference row's {reference.scene!r}")
    score = reference.score(trajectory.answer) if trajectory.stop_reason != "error" else 0.0
    induced = induce(trajectory, reference.options)
    rollout = Rollout(trajectory, reference, trajectory.task_type or reference.question_type, score, score >= config.success_threshold, induced)
    if harness_error(rollout):
        rollout.induced = None  # the machinery failed, not the workflow: it counts for no group
    elif induced is not None and not induced.evidence:
        rollout.score, rollout.success = 0.0, False  # no call succeeded: an answer nothing supported is the attempted workflow's failure
    return rollout


def _slug(task_type: str) -> str:
    """A question type as a skill id allows it: 'Positional Relationship (Cam.-Obj.)' -> 'positional_relationship_cam_obj'."""
    return re.sub(r"[^a-z0-9]+", "_", task_type.lower()).strip("_")


def _steps_key(steps: Sequence[Step]) -> str:
    """A workflow's tool steps as one comparable string (induced groups and stored skills alike)."""
    return json.dumps([step.model_dump() for step in steps], sort_keys=True)


def _signature(task_type: str, workflow: Workflow, scene_keyed: bool = False) -> str:
    """Identity of a skill for merging: a cluster-keyed skill never merges into a scene-agnostic one."""
    body = json.dumps(
        {"task": task_type, "pattern": workflow.question_pattern.lower(), "steps": [s.model_dump() for s in workflow.steps], "final": workflow.final.model_dump()}
        | ({"scene_keyed": True} if scene_keyed else {}),
        sort_keys=True,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _reproduces_all(final: FinalComputation, successes: list[Rollout]) -> bool:
    return all(reproduces(final, m.induced.observations, m.reference.options, m.trajectory.answer) for m in successes if m.induced)


def _workflow(successes: list[Rollout]) -> Workflow | None:
    first = successes[0].induced
    assert first is not None
    for final in final_candidates(first.observations):
        if _reproduces_all(final, successes):
            return Workflow(question_pattern=first.question_pattern, steps=list(first.steps), final=final, fallbacks=dict(first.fallbacks))
    return None


def _merge(skill: Skill, stats: SkillStats, provenance: Provenance, cluster: SceneDescriptor | None = None) -> Skill:
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
    update: dict = {"stats": merged_stats, "provenance": merged_provenance, "retired": False}
    if cluster is not None and cluster not in skill.traits.clusters:
        update["traits"] = skill.traits.model_copy(update={"clusters": [*skill.traits.clusters, cluster]})
    return skill.model_copy(update=update)


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


def _step_text(rollout: Rollout, tool: str) -> str:
    """The failing step as called: the tool with its fixed (non-slot) arguments, e.g. locate_objects(masks=text)."""
    steps = [step for step in (rollout.induced.steps if rollout.induced else ()) if step.tool == tool]
    if not steps:
        return tool
    fixed = {k: v for k, v in steps[-1].arguments.items() if not (isinstance(v, str) and "{" in v)}
    return f"{tool}({', '.join(f'{k}={v}' for k, v in fixed.items())})"


def harness_error(rollout: Rollout) -> bool:
    """A failure of the evaluation machinery, not of the workflow: an expert that could not be
    reached or failed on its own, or an error raised outside any tool call the policy made."""
    trajectory = rollout.trajectory
    failed = [o for turn in trajectory.turns for o in turn.observations if not o.ok]
    if any(o.failure == "expert_error" for o in failed):
        return True
    return trajectory.stop_reason == "error" and not failed and trajectory.error_kind not in POLICY_ERRORS


# Errors a policy raises about its own choices (no skill fitted, the model's reply unusable): lessons.
POLICY_ERRORS = {"ProgramError", "LLMResponseError"}


def _lessons(rollouts: list[Rollout], promoted: object, clusters: list[SceneDescriptor]) -> list[Lesson]:
    sequences: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for skill in promoted:  # type: ignore[attr-defined]
        sequences[skill.task_types[0]].add(skill.workflow.tool_sequence())
    counts: dict[tuple[str, FailureKind, str | None, str | None], list[Rollout]] = defaultdict(list)
    for rollout in rollouts:
        if not rollout.success and not harness_error(rollout):
            kind, tool = classify(rollout, sequences[rollout.task_type])
            condition = clusters[rollout.cluster].describe() if rollout.cluster is not None else None
            counts[(rollout.task_type, kind, tool, condition)].append(rollout)
    lessons = []
    for (task_type, kind, tool, condition), members in sorted(counts.items(), key=lambda item: (item[0][0], item[0][1].value, item[0][2] or "", item[0][3] or "")):
        example = members[0].trajectory
        step = f" at step {_step_text(members[0], tool)}" if tool else ""
        where = f" in {condition}" if condition else ""
        what = f"{len(members)} rollout(s) failed ({kind.value}){step}{where}, e.g. {example.sample_id}: {example.error or 'answer ' + repr(example.answer)}"
        lessons.append(Lesson(kind=kind, what_went_wrong=what[:400], advice=ADVICE[kind], applies_to=[task_type], tool=tool, scene_condition=condition, occurrences=len(members)))
    return lessons


def _merge_lessons(current: list[Lesson], new: list[Lesson]) -> list[Lesson]:
    merged = {(l.kind, l.tool, tuple(l.applies_to), l.scene_condition): l for l in current}
    for lesson in new:
        key = (lesson.kind, lesson.tool, tuple(lesson.applies_to), lesson.scene_condition)
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
        rated = [(s, (s.stats.successes + 1) / (s.stats.uses + 2)) for s in members if s.stats.uses >= config.min_uses_to_retire and not s.traits.clusters]
        if len(rated) < 2:
            continue
        best = max(rate for _, rate in rated)
        retired += [s.id for s, rate in rated if rate < best - config.retire_margin]
    return sorted(retired)
