"""Benchmark data from local sources: images stored as PIL / bytes / paths, override task YAMLs
pointing a task at a local directory / parquet / JSONL, and the original system's splits."""

from skill3d_eval.data.images import DataError, open_image
from skill3d_eval.data.local_task import write_local_task

__all__ = ["DataError", "open_image", "write_local_task"]
