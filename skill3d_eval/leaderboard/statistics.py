"""Bootstrap confidence intervals over questions and paired significance between runs.

Resampling is stratified by question type: each type's questions are resampled within the
type, so every replicate has every type and the benchmark's own aggregation (per-type means,
then columns, then the average) applies unchanged. All runs of a table share the same
replicate indices, which makes the run-to-run differences *paired* on the same questions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from skill3d_eval.leaderboard.layouts import Layout


@dataclass(frozen=True)
class Aggregates:
    """Point values and bootstrap replicates of [average, column 1, column 2, ...] per run."""

    labels: list[str]  # "avg", then the column labels that have questions
    point: np.ndarray  # (runs, len(labels))
    replicates: np.ndarray  # (runs, len(labels), iterations)

    def interval(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        tail = (1 - level) / 2 * 100
        low, high = np.percentile(self.replicates, [tail, 100 - tail], axis=-1)
        return low, high


def aggregate(scores: np.ndarray, question_types: Sequence[str], layout: Layout, *, iterations: int = 2000, seed: int = 0) -> Aggregates:
    """`scores`: (runs, questions), aligned on the same questions; `question_types`: per question."""
    scores = np.asarray(scores, dtype=float)
    types = np.asarray(question_types)
    rng = np.random.default_rng(seed)
    type_point: dict[str, np.ndarray] = {}
    type_replicates: dict[str, np.ndarray] = {}
    sizes: dict[str, int] = {}
    for qtype in dict.fromkeys(question_types):
        block = scores[:, types == qtype]
        sizes[qtype] = block.shape[1]
        indices = rng.integers(0, block.shape[1], size=(iterations, block.shape[1]))
        type_point[qtype] = block.mean(axis=1)
        type_replicates[qtype] = np.stack([row[indices].mean(axis=1) for row in block])
    labels, points, replicates = [], [], []
    for column in layout.columns:
        present = [qtype for qtype in column.question_types if qtype in type_point]
        if present:
            labels.append(column.label)
            points.append(np.mean([type_point[q] for q in present], axis=0))
            replicates.append(np.mean([type_replicates[q] for q in present], axis=0))
    if layout.average == "columns":
        average_point, average_replicates = np.mean(points, axis=0), np.mean(replicates, axis=0)
    else:
        total = sum(sizes.values())
        average_point = sum(type_point[q] * n for q, n in sizes.items()) / total
        average_replicates = sum(type_replicates[q] * n for q, n in sizes.items()) / total
    return Aggregates(["avg", *labels], np.stack([average_point, *points], axis=1), np.stack([average_replicates, *replicates], axis=1))


@dataclass(frozen=True)
class PairedTest:
    delta: float  # run − reference, observed
    p_value: float  # two-sided paired bootstrap
    low: float  # 95% interval of the difference
    high: float


def paired_bootstrap(run: np.ndarray, reference: np.ndarray, observed: float) -> PairedTest:
    """Two-sided p: twice the smaller share of paired replicate differences on either side of 0."""
    difference = np.asarray(run) - np.asarray(reference)
    p_value = min(1.0, 2 * min(float((difference <= 0).mean()), float((difference >= 0).mean())))
    low, high = np.percentile(difference, [2.5, 97.5])
    return PairedTest(float(observed), p_value, float(low), float(high))
