"""How a run differs from the table's reference: differences that keep it out, and flags.

A run is **not ranked** beside the reference when a paired comparison would be meaningless:
another question set (question id and target), another split, or a run whose own records are
not one setting (trajectories from several skill libraries or policies).

Every other recorded difference is a condition of the run, and comparing conditions is what the
leaderboard is for, so the run is ranked and the difference is **flagged** on its row: the
policy; the LLM (model, backend, temperature, max_turns, max_tokens; between runs that both use
one); the experts (each served model's 'version|config digest', which changes with its backend,
checkpoint or noise parameters, and the expert parameters a local server was started with;
between runs that both called experts); the frame count; the skill library's content hash; and
a run without `run_info.json`, whose conditions cannot be compared at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from skill3d_eval.leaderboard.runs import RunResult, TaskRun

Aspect = Literal["questions", "split", "run", "policy", "llm", "experts", "frames", "library", "settings"]
EXCLUDING: frozenset[Aspect] = frozenset({"questions", "split", "run"})
# Settings that change an LLM policy's answers; compared only between runs that both ask an LLM.
LLM_SETTINGS = ("model", "llm_backend", "temperature", "max_turns", "max_tokens")
_WITHOUT_LLM = frozenset({"program", "chance_random", "chance_frequency"})


@dataclass(frozen=True)
class Mismatch:
    task: str
    run: str
    reference: str
    field: Aspect
    detail: str

    @property
    def excludes(self) -> bool:
        return self.field in EXCLUDING

    def __str__(self) -> str:
        relation = "is not comparable with" if self.excludes else "differs from"
        return f"{self.task}: {self.run} {relation} {self.reference}: {self.field}: {self.detail}"


def _question_set(task_run: TaskRun) -> frozenset[tuple[str, str]]:
    return frozenset((q.question_id, q.target) for q in task_run.questions)


def _changed(mine: Mapping[str, Any], theirs: Mapping[str, Any], keys: list[str] | tuple[str, ...]) -> str:
    return "; ".join(f"{key} {mine.get(key)!r} vs {theirs.get(key)!r}" for key in keys if mine.get(key) != theirs.get(key))


def _condition_flags(run: RunResult, reference: RunResult) -> list[tuple[Aspect, str]]:
    """What the two runs' records say about how they were made, where it differs."""
    flags: list[tuple[Aspect, str]] = []
    if None not in (run.policy, reference.policy) and run.policy != reference.policy:  # unknown: see "settings"
        flags.append(("policy", f"{run.policy!r} vs {reference.policy!r}"))
    if run.libraries != reference.libraries:
        shown = [",".join(sorted(h[:12] for h in r.libraries)) or "none" for r in (run, reference)]
        flags.append(("library", f"{shown[0]} vs {shown[1]}"))
    mine, theirs = run.run_info, reference.run_info
    if mine is None or theirs is None:
        missing = " and ".join(r.label for r, info in ((run, mine), (reference, theirs)) if info is None)
        flags.append(("settings", f"no run_info.json for {missing}: LLM, experts and settings cannot be compared"))
        return flags
    if not {mine.policy, theirs.policy} & _WITHOUT_LLM:
        changed = _changed(mine.settings, theirs.settings, LLM_SETTINGS)
        if changed:
            flags.append(("llm", changed))
    served, served_there = (info.experts.models if info.experts else {} for info in (mine, theirs))
    if served and served_there:
        changed = "; ".join(filter(None, (
            _changed(served, served_there, sorted(served.keys() | served_there.keys())),
            _changed(mine.settings, theirs.settings, ("expert_parameters",)),
        )))
        if changed:
            flags.append(("experts", changed))
    return flags


def mismatches(task: str, run: RunResult, reference: RunResult) -> list[Mismatch]:
    """Every difference of `run` from `reference` on `task`: `excludes` ones keep it out of the table."""
    found = []
    mine, theirs = run.tasks[task], reference.tasks[task]

    def add(field: Aspect, detail: str) -> None:
        found.append(Mismatch(task, run.label, reference.label, field, detail))

    for issue in run.issues:
        if issue.startswith("mixes "):
            add("run", issue)
    questions, reference_questions = _question_set(mine), _question_set(theirs)
    if questions != reference_questions:
        only_here = len(questions - reference_questions)
        only_there = len(reference_questions - questions)
        add("questions", f"{len(questions)} questions vs {len(reference_questions)}: {only_here} only in {run.label}, {only_there} only in {reference.label}")
    if mine.split != theirs.split:
        add("split", f"{mine.split!r} vs {theirs.split!r}")
    if run is reference:
        return found
    if mine.frames != theirs.frames:
        add("frames", f"{mine.frames!r} vs {theirs.frames!r}")
    for field, detail in _condition_flags(run, reference):
        add(field, detail)
    return found
