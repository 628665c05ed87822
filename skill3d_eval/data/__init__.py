"""Benchmark data as users have it: the hub path's video cache made whole (`vsi_videos`,
`archives`), local layouts recognised (`layouts`: Hugging Face snapshots, the original system's
`dataset/` + `skill3d_splits`), override task YAMLs pointing a task at a local directory /
parquet / JSONL (`local_task`), and the checks every task applies to its rows (`rows`)."""

from skill3d_eval.data.errors import DataError
from skill3d_eval.data.local_task import write_local_task

__all__ = ["DataError", "write_local_task"]
