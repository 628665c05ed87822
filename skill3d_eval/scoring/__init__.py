"""Scorers: pure functions of (row, reply) shared by tasks, evolution, the leaderboard and rewards.

`score(row, reply) -> Score` is the one entry point (`dispatch.py`); the modules beside it hold
each benchmark's rule and aggregation.
"""

from skill3d_eval.scoring.choice import choice_accuracy, extract_choice
from skill3d_eval.scoring.cvbench import official_overall
from skill3d_eval.scoring.dispatch import (
    Score,
    UnknownBenchmarkRow,
    answer_kind,
    schema_of,
    score,
)
from skill3d_eval.scoring.mmsi import (
    ANSWER_EXTRACTION,
    AnswerExtraction,
    UnknownAnswerExtraction,
    extract_mmsi_letter,
    mmsi_score,
)
from skill3d_eval.scoring.numeric import (
    extract_number,
    mean_relative_accuracy,
    numeric_mra,
)
from skill3d_eval.scoring.option_letter import (
    answer_letter,
    leading_letter,
    stated_letter,
)
from skill3d_eval.scoring.vsibench import score_question, task_scores

__all__ = [
    "ANSWER_EXTRACTION",
    "AnswerExtraction",
    "Score",
    "UnknownAnswerExtraction",
    "UnknownBenchmarkRow",
    "answer_kind",
    "answer_letter",
    "choice_accuracy",
    "extract_choice",
    "extract_mmsi_letter",
    "extract_number",
    "leading_letter",
    "mean_relative_accuracy",
    "mmsi_score",
    "numeric_mra",
    "official_overall",
    "schema_of",
    "score",
    "score_question",
    "stated_letter",
    "task_scores",
]
