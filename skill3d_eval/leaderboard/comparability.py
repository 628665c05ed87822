"""Which runs may share a table: the same questions under the same conditions, or none at all.

A run is compared with the table's reference on its task's question set (question id and
target), split and frame count. Runs whose own records are inconsistent (trajectories from
several skill libraries or policies in one run) are not a single setting and are not ranked.
The skill library is *not* required to match across runs: comparing libraries is a purpose
of the leaderboard; each run's library hash is shown instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from skill3d_eval.leaderboard.runs import RunResult, TaskRun


@dataclass(frozen=True)
class Mismatch:
    task: str
    run: str
    reference: str
    field: str  # "questions", "split", "frames", "run"
    detail: str

    def __str__(self) -> str:
        return f"{self.task}: {self.run} is not comparable with {self.reference}: {self.field}: {self.detail}"


def _question_set(task_run: TaskRun) -> frozenset[tuple[str, str]]:
    return frozenset((q.question_id, q.target) for q in task_run.questions)


def mismatches(task: str, run: RunResult, reference: RunResult) -> list[Mismatch]:
    """Everything that keeps `run` from being compared with `reference` on `task` (empty: comparable)."""
    found = []
    mine, theirs = run.tasks[task], reference.tasks[task]

    def add(field: str, detail: str) -> None:
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
    if mine.frames != theirs.frames:
        add("frames", f"{mine.frames!r} vs {theirs.frames!r}")
    return found
