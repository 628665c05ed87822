"""Training data from trajectories: export to TRL / ms-swift formats, filters, data card, tiny models."""

from skill3d_eval.train.card import DataCard
from skill3d_eval.train.export import export_trajectories, scene_split
from skill3d_eval.train.filters import ExportFilters
from skill3d_eval.train.metric import answer_kind, benchmark_score
from skill3d_eval.train.rows import ExportError

__all__ = ["DataCard", "ExportError", "ExportFilters", "answer_kind", "benchmark_score", "export_trajectories", "scene_split"]
