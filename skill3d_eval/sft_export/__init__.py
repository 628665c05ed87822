"""SFT data from trajectories of a training split: TRL / ms-swift JSONL, filters, data card.

Answers are scored by `skill3d_eval.scoring.score`, the scorer the task YAMLs call. Training
itself (TRL SFT/GRPO scripts, rewards, the tool environment) lives in the top-level `train/`."""

from skill3d_eval.sft_export.card import DataCard
from skill3d_eval.sft_export.export import export_trajectories, scene_split
from skill3d_eval.sft_export.filters import ExportFilters
from skill3d_eval.sft_export.rows import ExportError

__all__ = ["DataCard", "ExportError", "ExportFilters", "export_trajectories", "scene_split"]
