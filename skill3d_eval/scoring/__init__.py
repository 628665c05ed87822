"""Scorers: pure functions of (answer, ground truth) shared by tasks, leaderboard and rewards."""

from skill3d_eval.scoring.choice import choice_accuracy, extract_choice
from skill3d_eval.scoring.cvbench import cvbench_correct, official_overall
from skill3d_eval.scoring.mmsi import extract_mmsi_letter, mmsi_score
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
    "answer_letter",
    "choice_accuracy",
    "cvbench_correct",
    "extract_choice",
    "extract_mmsi_letter",
    "extract_number",
    "leading_letter",
    "mean_relative_accuracy",
    "mmsi_score",
    "numeric_mra",
    "official_overall",
    "score_question",
    "stated_letter",
    "task_scores",
]
