"""Benchmark data from local sources: override task YAMLs pointing a task at a local directory /
parquet / JSONL, the original system's splits, and the checks every task applies to its rows."""

from skill3d_eval.data.errors import DataError
from skill3d_eval.data.local_task import write_local_task

__all__ = ["DataError", "write_local_task"]
