"""Scorers: pure functions of (answer, ground truth) shared by tasks, leaderboard and rewards."""

from skill3d_eval.scoring.choice import choice_accuracy, extract_choice
from skill3d_eval.scoring.numeric import extract_number, mean_relative_accuracy, numeric_mra

__all__ = ["choice_accuracy", "extract_choice", "extract_number", "mean_relative_accuracy", "numeric_mra"]
