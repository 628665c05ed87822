"""The leaderboard: per benchmark, the comparable runs' scores with intervals, significance and costs.

Scores are recomputed from lmms-eval's per-question samples (so they can be resampled and
paired) and cross-checked against lmms-eval's own aggregates; a disagreement is reported. Rows
are grouped and ranked on a chosen column (`ranking`), and every frame of a table lists its runs
in that order, so every rendering shows the same order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from skill3d_eval.leaderboard.comparability import Mismatch, mismatches
from skill3d_eval.leaderboard.conditions import (
    endpoint_of,
    experts_of,
    group_of,
    model_of,
)
from skill3d_eval.leaderboard.dates import local_stamp
from skill3d_eval.leaderboard.drilldown import WorstQuestion, worst_questions
from skill3d_eval.leaderboard.layouts import Column, Layout, layout_for
from skill3d_eval.leaderboard.ranking import competition_ranks, row_order
from skill3d_eval.leaderboard.runs import RunResult, load_run
from skill3d_eval.leaderboard.statistics import aggregate, paired_bootstrap
from skill3d_eval.metrics import compute_run_metrics

SIGNIFICANCE_LEVEL = 0.05
# lmms-eval rounds our aggregates to 6 decimals.
_AGREEMENT_TOLERANCE = 1e-5
COST_COLUMNS = {
    "tool_calls_per_question": "tool calls/q",
    "effective_tool_usage": "effective tool use",
    "invalid_tool_call_rate": "invalid calls",
    "turns_per_question": "turns/q",
    "prompt_tokens_per_question": "prompt tok/q",
    "completion_tokens_per_question": "compl tok/q",
    "seconds_per_question": "s/q",
    "expert_seconds_per_question": "expert s/q",
    "cache_hit_rate": "cache hits",
    "errors": "errors",
}


# The descriptive columns of `BenchmarkTable.runs`, in display order.
RUN_FIELDS = ("group", "rank", "policy", "model", "endpoint", "experts", "frames", "library", "date", "questions", "differs")


class LeaderboardError(ValueError):
    pass


@dataclass
class BenchmarkTable:
    task: str
    layout: Layout
    reference: str
    questions: int
    scores: pd.DataFrame  # index: run label; columns: "avg", then the layout's columns with questions; fractions in [0, 1]
    ci_low: pd.DataFrame
    ci_high: pd.DataFrame
    significance: pd.DataFrame  # index: run label; delta, p_value, ci_low, ci_high, verdict ("better", "worse", "n.s.", "reference")
    costs: pd.DataFrame  # index: run label; COST_COLUMNS keys (NaN / None where a run has no trajectories)
    runs: pd.DataFrame  # index: run label; RUN_FIELDS
    counts: dict[str, int]  # questions behind each score column ("avg": all of them)
    sort_by: str  # the score column the rows are ranked on
    worst: list[WorstQuestion]  # per column and run, the lowest-scored questions (`drilldown`)
    excluded: list[Mismatch] = field(default_factory=list)  # runs left out: not the same test
    flagged: list[Mismatch] = field(default_factory=list)  # ranked runs' differences from the reference


@dataclass
class Leaderboard:
    tables: list[BenchmarkTable]
    notes: list[str]  # per-run issues and cross-checks, as sentences naming the run

    @property
    def mismatches(self) -> list[Mismatch]:
        return [mismatch for table in self.tables for mismatch in table.excluded]

    @property
    def flags(self) -> list[Mismatch]:
        return [flag for table in self.tables for flag in table.flagged]


def layout_with_extra_types(task: str, question_types: list[str]) -> Layout:
    """The task's layout plus a column for any question type it does not list."""
    layout = layout_for(task, question_types)
    extra = [qtype for qtype in dict.fromkeys(question_types) if layout.column_of(qtype) is None]
    if not extra:
        return layout
    return Layout(layout.name, layout.columns + tuple(Column(qtype, (qtype,)) for qtype in extra), layout.average, layout.overall_metric)


def _cross_check(run: RunResult, task: str, layout: Layout, point: dict[str, float]) -> list[str]:
    reported = run.tasks[task].reported
    notes = []
    checks = [(column.metric, point.get(column.label)) for column in layout.columns if column.metric]
    checks.append((layout.overall_metric, point["avg"]))
    for metric, ours in checks:
        theirs = reported.get(metric) if metric else None
        if theirs is None or ours is None or math.isnan(theirs):
            continue
        if abs(theirs - ours) > _AGREEMENT_TOLERANCE:
            notes.append(f"{run.label}: {task} {metric}: lmms-eval reports {theirs:.6f}, the per-question samples give {ours:.6f}")
    return notes


def _costs(run: RunResult, task: str) -> dict[str, object]:
    trajectories = run.trajectories_of(task)
    if not trajectories:
        return {key: None for key in COST_COLUMNS}
    metrics = compute_run_metrics(trajectories, run.run_info).model_dump()
    return {key: metrics[key] for key in COST_COLUMNS}


def _column_counts(layout: Layout, labels: list[str], question_types: list[str]) -> dict[str, int]:
    counts = {"avg": len(question_types)}
    for column in layout.columns:
        if column.label in labels:
            counts[column.label] = sum(qtype in column.question_types for qtype in question_types)
    return counts


def benchmark_table(
    task: str, runs: Sequence[RunResult], reference: RunResult, *, iterations: int, seed: int, sort_by: str = "avg"
) -> tuple[BenchmarkTable, list[str]]:
    """`sort_by`: the score column to rank on; a table without it ranks on "avg" (and says so in a note)."""
    own = mismatches(task, reference, reference)
    if own:
        raise LeaderboardError(f"reference run {reference.label} cannot be ranked: " + "; ".join(m.detail for m in own))
    found = [m for run in runs if run is not reference for m in mismatches(task, run, reference)]
    excluded = [m for m in found if m.excludes]
    shut_out = {m.run for m in excluded}
    flagged = [m for m in found if not m.excludes and m.run not in shut_out]
    members = [reference, *[run for run in runs if run is not reference and run.label not in shut_out]]
    order_ids = sorted(q.question_id for q in reference.tasks[task].questions)
    question_types = {q.question_id: q.question_type for q in reference.tasks[task].questions}
    by_id = [{q.question_id: q.score for q in run.tasks[task].questions} for run in members]
    matrix = np.array([[scores_of[qid] for qid in order_ids] for scores_of in by_id])
    layout = layout_with_extra_types(task, [question_types[qid] for qid in order_ids])
    stats = aggregate(matrix, [question_types[qid] for qid in order_ids], layout, iterations=iterations, seed=seed)
    low, high = stats.interval()
    labels = [run.label for run in members]
    scores = pd.DataFrame(stats.point, index=labels, columns=stats.labels)
    significance = {}
    for i, run in enumerate(members):
        if i == 0:
            significance[run.label] = {"delta": 0.0, "p_value": float("nan"), "ci_low": 0.0, "ci_high": 0.0, "verdict": "reference"}
            continue
        test = paired_bootstrap(stats.replicates[i, 0], stats.replicates[0, 0], float(stats.point[i, 0] - stats.point[0, 0]))
        verdict = "n.s." if test.p_value >= SIGNIFICANCE_LEVEL else ("better" if test.delta > 0 else "worse")
        significance[run.label] = {"delta": test.delta, "p_value": test.p_value, "ci_low": test.low, "ci_high": test.high, "verdict": verdict}
    notes = [note for run in members for note in _cross_check(run, task, layout, scores.loc[run.label].to_dict())]
    if sort_by not in scores.columns:
        notes.append(f"{task}: no column {sort_by!r} (it has {', '.join(scores.columns)}); ranked on avg")
        sort_by = "avg"
    groups = {run.label: group_of(run.run_info, run.policy, run.libraries) for run in members}
    ranks = competition_ranks(scores[sort_by].to_dict())
    order = row_order(labels, groups, scores[sort_by].to_dict())
    table = BenchmarkTable(
        task=task,
        layout=layout,
        reference=reference.label,
        questions=len(order_ids),
        scores=scores,
        ci_low=pd.DataFrame(low, index=labels, columns=stats.labels),
        ci_high=pd.DataFrame(high, index=labels, columns=stats.labels),
        significance=pd.DataFrame.from_dict(significance, orient="index"),
        costs=pd.DataFrame.from_dict({run.label: _costs(run, task) for run in members}, orient="index"),
        runs=pd.DataFrame.from_dict(
            {
                run.label: {
                    "group": groups[run.label],
                    "rank": ranks[run.label],
                    "policy": run.policy_label(task),
                    "model": model_of(run.run_info, run.policy),
                    "endpoint": endpoint_of(run.run_info, run.policy),
                    "experts": experts_of(run.run_info),
                    "frames": "-" if run.tasks[task].frames is None else str(run.tasks[task].frames),
                    "library": ",".join(sorted(h[:12] for h in run.libraries)),
                    "date": local_stamp(run.started),
                    "questions": len(run.tasks[task].questions),
                    "differs": ", ".join(dict.fromkeys(m.field for m in flagged if m.run == run.label)),
                }
                for run in members
            },
            orient="index",
        ),
        counts=_column_counts(layout, list(scores.columns), [question_types[qid] for qid in order_ids]),
        sort_by=sort_by,
        worst=[w for run in members for w in worst_questions(task, run, layout, list(scores.columns))],
        excluded=excluded,
        flagged=flagged,
    )
    return _in_order(table, order), notes


def _in_order(table: BenchmarkTable, order: list[str]) -> BenchmarkTable:
    """Every per-run frame with its rows in `order`."""
    for name in ("scores", "ci_low", "ci_high", "significance", "costs", "runs"):
        setattr(table, name, getattr(table, name).loc[order])
    return table


def load_runs(run_dirs: Sequence[str | Path]) -> list[RunResult]:
    """Each run directory, labelled by its name; the names must differ (they label the rows)."""
    if not run_dirs:
        raise LeaderboardError("no run directories given")
    runs = [load_run(Path(directory)) for directory in run_dirs]
    labels = [run.label for run in runs]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise LeaderboardError(f"run directories must have distinct names (the row labels): {', '.join(duplicates)}")
    return runs


def build_leaderboard(
    run_dirs: Sequence[str | Path], reference: str | Path | None = None, *, iterations: int = 2000, seed: int = 0, sort_by: str = "avg"
) -> Leaderboard:
    """Load each run directory (labelled by its name) and build one table per benchmark task.

    `reference`: a run's label or directory (default: the first run); significance is against it.
    `sort_by`: the score column ("avg", "counting", ...) rows are ranked on; it must be a column of
    at least one table.
    """
    runs = load_runs(run_dirs)
    labels = [run.label for run in runs]
    if reference is None:
        reference_run = runs[0]
    else:
        wanted = Path(reference).resolve().name if Path(reference).exists() else str(reference)
        reference_run = next((run for run in runs if run.label == wanted), None)
        if reference_run is None:
            raise LeaderboardError(f"reference {reference!r} is none of the runs: {', '.join(labels)}")
    notes = [f"{run.label}: {issue}" for run in runs for issue in run.issues]
    tables = []
    for task in dict.fromkeys(task for run in runs for task in run.tasks):
        having = [run for run in runs if task in run.tasks]
        task_reference = reference_run if task in reference_run.tasks else having[0]
        if task_reference is not reference_run:
            notes.append(f"{task}: the reference {reference_run.label} has no results for it; compared against {task_reference.label}")
        table, table_notes = benchmark_table(task, having, task_reference, iterations=iterations, seed=seed, sort_by=sort_by)
        tables.append(table)
        notes += table_notes
    available = dict.fromkeys(column for table in tables for column in table.scores.columns)
    if sort_by not in available:
        raise LeaderboardError(f"sort by {sort_by!r}: no table has that column; the columns are {', '.join(available)}")
    return Leaderboard(tables, notes)
