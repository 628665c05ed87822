"""The benchmark's own metric for one answer, shared by the export filter and the GRPO rewards.

VSI-Bench-schema question types (spatial_synth, vsi_bench) are scored by `score_question`, the
function their task YAMLs call; any other benchmark by the form its row implies (options →
letter match, none → MRA). Both end in `choice_accuracy` / `numeric_mra`, so what the export
keeps, what a reward pays and what the leaderboard reports cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

from skill3d_eval.records import AnswerKind
from skill3d_eval.scoring import choice_accuracy, numeric_mra, score_question
from skill3d_eval.scoring.vsibench import CHOICE_TYPES, QUESTION_TYPES


def answer_kind(question_type: str | None, options: Sequence[str] | None) -> AnswerKind:
    if question_type in QUESTION_TYPES:
        return "choice" if question_type in CHOICE_TYPES else "number"
    return "choice" if options else "number"


def benchmark_score(answer: str | None, ground_truth: str, question_type: str | None = None, options: Sequence[str] | None = None) -> float:
    if question_type in QUESTION_TYPES:
        return score_question(question_type, answer, ground_truth)
    return choice_accuracy(answer, ground_truth) if options else numeric_mra(answer, ground_truth)
