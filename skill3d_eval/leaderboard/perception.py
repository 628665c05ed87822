"""Perception vs reasoning: what each expert's quality is worth to one policy on one question set.

Runs of the same policy (LLM, skill library, frames: everything `comparability` compares except
the experts) on the same questions form a group. Its reference is the run whose experts are all
exact oracles (backend `oracle`, no noise): what it still gets wrong is the reasoning's error.
A run that differs from it in exactly one expert (oracle → real checkpoint, or oracle noise)
measures that expert's share: the drop (reference − swapped) per column, with a paired
bootstrap 95% interval over the shared questions. A run differing in several experts cannot be
attributed to one and is listed with the experts that differ.

An expert's condition is read from `run_info.json`'s `experts.served` (backend, version,
checkpoint, config parameters), keeping only what changes the model's answers: the launcher
sets every parameter on every model, so another model's noise level, `oracle_root` (a path)
or `torch_threads` is no difference of this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import numpy as np
import pandas as pd

from skill3d_eval.leaderboard.comparability import mismatches
from skill3d_eval.leaderboard.layouts import Layout
from skill3d_eval.leaderboard.runs import RunResult
from skill3d_eval.leaderboard.statistics import aggregate, paired_bootstrap
from skill3d_eval.leaderboard.table import SIGNIFICANCE_LEVEL, LeaderboardError, layout_with_extra_types, load_runs
from skill3d_eval.records import ServedExpert

# Config parameters that change a model's answers (experts_triton/README.md, "Config parameters").
NOISE_PARAMETERS: dict[str, tuple[str, ...]] = {
    "depth": ("depth_scale_error",),
    "detection": ("box_jitter_px", "miss_rate"),
    "orientation": ("angle_noise_deg",),
    "reconstruction": ("depth_scale_error", "pose_noise_deg", "pose_noise_m"),
}
RESULT_PARAMETERS: dict[str, tuple[str, ...]] = {
    "depth": ("fov_deg",),
    "detection": ("box_threshold",),
    "super_resolution": ("scale",),
}


@dataclass(frozen=True)
class ExpertCondition:
    """One expert as far as its answers go: equal conditions answer alike."""

    backend: str
    version: str
    checkpoint: str | None
    noise: tuple[tuple[str, str], ...]  # non-zero levels, then the seed; () for an exact oracle or a real backend
    parameters: tuple[tuple[str, str], ...]  # RESULT_PARAMETERS that are set

    @classmethod
    def of(cls, model: str, served: ServedExpert, checkpoint: str | None = None) -> ExpertCondition:
        """`checkpoint`: what the run was given for a local real backend, when it recorded that."""
        given = served.parameters
        noise: tuple[tuple[str, str], ...] = ()
        if served.backend == "oracle":
            levels = tuple((key, given[key]) for key in NOISE_PARAMETERS.get(model, ()) if _nonzero(given.get(key, "")))
            noise = (*levels, ("seed", given.get("noise_seed", "0") or "0")) if levels else ()
        parameters = tuple((key, given[key]) for key in RESULT_PARAMETERS.get(model, ()) if given.get(key, "").strip())
        return cls(served.backend, served.version, checkpoint or served.checkpoint, noise, parameters)

    @property
    def exact_oracle(self) -> bool:
        return self.backend == "oracle" and not self.noise

    def label(self) -> str:
        """'oracle v1', 'oracle v1, noise depth_scale_error=0.2 seed=0', 'real v2, checkpoint Depth-Anything-V2-Small-hf'."""
        parts = [f"{self.backend or 'unknown backend'} v{self.version or '?'}"]
        if self.checkpoint:
            parts.append(f"checkpoint {checkpoint_name(self.checkpoint)}")
        if self.noise:
            parts.append("noise " + " ".join(f"{key}={value}" for key, value in self.noise))
        parts += [f"{key}={value}" for key, value in self.parameters]
        return ", ".join(parts)


def _nonzero(value: str) -> bool:
    try:
        return float(value) != 0
    except ValueError:
        return bool(value.strip())  # unreadable: the server refused to load it, but say so rather than hide it


def checkpoint_name(path: str) -> str:
    """A checkpoint as people name it: the Hugging Face repo of a hub-cache snapshot, else the directory name."""
    parts = PurePath(path).parts
    repo = next((part for part in parts if part.startswith("models--")), None)
    if repo is not None:
        return repo.removeprefix("models--").replace("--", "/")
    return parts[-1] if parts else path


def expert_conditions(run: RunResult) -> dict[str, ExpertCondition] | None:
    """Each served expert's condition; None when the run did not record its experts' backends."""
    experts = run.run_info.experts if run.run_info else None
    if experts is None or not experts.served:
        return None
    return {model: ExpertCondition.of(model, served, experts.checkpoints.get(model)) for model, served in experts.served.items()}


@dataclass
class ExpertSwap:
    """A run that differs from its group's reference in one expert, and what that costs."""

    run: str
    expert: str
    reference_condition: str
    condition: str
    scores: pd.DataFrame  # index: "avg", then the layout's columns; reference, swapped, drop, ci_low, ci_high, p_value

    @property
    def verdict(self) -> str:
        """On the average: 'drop' / 'gain' when the paired test finds a difference at SIGNIFICANCE_LEVEL, else 'n.s.'."""
        row = self.scores.loc["avg"]
        if row["p_value"] >= SIGNIFICANCE_LEVEL:
            return "n.s."
        return "drop" if row["drop"] > 0 else "gain"


@dataclass(frozen=True)
class Unattributed:
    run: str
    reason: str


@dataclass
class PerceptionGroup:
    task: str
    layout: Layout
    reference: str
    policy: str
    questions: int
    reference_experts: dict[str, str]  # model → condition label
    swaps: list[ExpertSwap] = field(default_factory=list)
    unattributed: list[Unattributed] = field(default_factory=list)


@dataclass
class PerceptionSplit:
    groups: list[PerceptionGroup]
    ungrouped: dict[str, list[Unattributed]]  # task → runs in no group, and why
    notes: list[str]


def _same_setting(task: str, run: RunResult, reference: RunResult) -> list[str]:
    """What keeps `run` out of the reference's group: every difference but the experts'."""
    return [f"{m.field}: {m.detail}" for m in mismatches(task, run, reference) if m.field != "experts"]


def _shown(model: str, conditions: dict[str, ExpertCondition]) -> str:
    return conditions[model].label() if model in conditions else "not served"


def _swap(task: str, reference: RunResult, run: RunResult, layout: Layout, *, iterations: int, seed: int) -> pd.DataFrame:
    """Both runs' scores per column and the paired drop, on the reference's questions (the same set)."""
    order = sorted(q.question_id for q in reference.tasks[task].questions)
    types = {q.question_id: q.question_type for q in reference.tasks[task].questions}
    scores = [{q.question_id: q.score for q in r.tasks[task].questions} for r in (reference, run)]
    matrix = np.array([[by_id[qid] for qid in order] for by_id in scores])
    stats = aggregate(matrix, [types[qid] for qid in order], layout, iterations=iterations, seed=seed)
    rows = {}
    for column, label in enumerate(stats.labels):
        drop = float(stats.point[0, column] - stats.point[1, column])
        test = paired_bootstrap(stats.replicates[0, column], stats.replicates[1, column], drop)  # reference − swapped
        rows[label] = {
            "reference": float(stats.point[0, column]),
            "swapped": float(stats.point[1, column]),
            "drop": drop,
            "ci_low": test.low,
            "ci_high": test.high,
            "p_value": test.p_value,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _group(task: str, reference: RunResult, members: list[RunResult], conditions: dict[str, dict[str, ExpertCondition] | None], *, iterations: int, seed: int) -> PerceptionGroup:
    mine = conditions[reference.label] or {}
    questions = sorted(reference.tasks[task].questions, key=lambda q: q.question_id)
    group = PerceptionGroup(
        task=task,
        layout=layout_with_extra_types(task, [q.question_type for q in questions]),
        reference=reference.label,
        policy=reference.policy_label(task),
        questions=len(questions),
        reference_experts={model: condition.label() for model, condition in sorted(mine.items())},
    )
    for run in members:
        theirs = conditions[run.label]
        if theirs is None:
            group.unattributed.append(Unattributed(run.label, "its run_info.json does not record its experts' backends (experts.served)"))
            continue
        differing = [model for model in sorted(mine.keys() | theirs.keys()) if mine.get(model) != theirs.get(model)]
        changes = "; ".join(f"{model}: {_shown(model, mine)} → {_shown(model, theirs)}" for model in differing)
        if not differing:
            group.unattributed.append(Unattributed(run.label, "the same experts as the reference (a repeat: any difference is the policy's own variance)"))
        elif len(differing) > 1:
            group.unattributed.append(Unattributed(run.label, f"{len(differing)} experts differ ({changes})"))
        elif differing[0] not in mine or differing[0] not in theirs:
            group.unattributed.append(Unattributed(run.label, f"an expert served by one run only ({changes})"))
        else:
            (expert,) = differing
            scores = _swap(task, reference, run, group.layout, iterations=iterations, seed=seed)
            group.swaps.append(ExpertSwap(run.label, expert, mine[expert].label(), theirs[expert].label(), scores))
    return group


def perception_split(runs: Sequence[RunResult], *, iterations: int = 2000, seed: int = 0) -> PerceptionSplit:
    """Per task: group the runs around their all-oracle references and attribute one-expert swaps."""
    labels = [run.label for run in runs]
    if len(set(labels)) != len(labels):
        raise LeaderboardError(f"runs must have distinct labels: {', '.join(sorted({label for label in labels if labels.count(label) > 1}))}")
    conditions = {run.label: expert_conditions(run) for run in runs}
    notes = [f"{run.label}: {issue}" for run in runs for issue in run.issues]
    groups: list[PerceptionGroup] = []
    ungrouped: dict[str, list[Unattributed]] = {}
    for task in dict.fromkeys(task for run in runs for task in run.tasks):
        having = [run for run in runs if task in run.tasks]
        references = [
            run for run in having
            if conditions[run.label] and all(c.exact_oracle for c in conditions[run.label].values()) and not mismatches(task, run, run)
        ]
        grouped: set[str] = set()
        for reference in references:
            if reference.label in grouped:
                continue
            members = [run for run in having if run.label not in grouped and run is not reference and not _same_setting(task, run, reference)]
            grouped |= {reference.label, *(run.label for run in members)}
            groups.append(_group(task, reference, members, conditions, iterations=iterations, seed=seed))
        left = [run for run in having if run.label not in grouped]
        if left:
            ungrouped[task] = [Unattributed(run.label, _why_ungrouped(task, run, references)) for run in left]
    return PerceptionSplit(groups, ungrouped, notes)


def _why_ungrouped(task: str, run: RunResult, references: list[RunResult]) -> str:
    if not references:
        return "no run of this task has all experts oracle (backend oracle, no noise) with its experts' backends recorded"
    closest = min(references, key=lambda reference: len(_same_setting(task, run, reference)))
    differences = _same_setting(task, run, closest)
    return f"differs from the all-oracle reference {closest.label} in more than its experts: {'; '.join(differences)}"


def perception_split_of(run_dirs: Sequence[str | Path], *, iterations: int = 2000, seed: int = 0) -> PerceptionSplit:
    """Load each run directory (labelled by its name) and split it."""
    return perception_split(load_runs(run_dirs), iterations=iterations, seed=seed)
