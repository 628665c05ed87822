"""Per-run output directory: run metadata and one JSON line per finished sample.

Each line is written with a single append and flushed to disk before the sample counts as
done, so a crash or SIGKILL loses at most the line being written; a torn last line is skipped
on reading. A rerun of the same command reads the file back and skips what is done.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path

from pydantic import ValidationError

from skill3d_eval.records import RunInfo, Trajectory

logger = logging.getLogger(__name__)

SampleKey = tuple[str, int]


class TrajectoryLog:
    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.path = run_dir / "trajectories.jsonl"
        self._lock = threading.Lock()
        run_dir.mkdir(parents=True, exist_ok=True)

    def write_run_info(self, info: RunInfo) -> None:
        # A temporary file of its own per writer: ranks of a sharded run write this at once.
        fd, tmp = tempfile.mkstemp(dir=self.run_dir, prefix=".run_info.", suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            handle.write(info.model_dump_json(indent=2))
        os.replace(tmp, self.run_dir / "run_info.json")

    def append(self, trajectory: Trajectory) -> None:
        line = (trajectory.model_dump_json() + "\n").encode()
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    def answered(self, fingerprint: str) -> dict[SampleKey, Trajectory]:
        """The last successful trajectory per (task, doc_id) recorded under these settings."""
        if not self.path.is_file():
            return {}
        done: dict[SampleKey, Trajectory] = {}
        for trajectory in read_trajectories(self.path):
            if trajectory.fingerprint != fingerprint:
                continue
            key = (trajectory.task, trajectory.doc_id)
            if trajectory.stop_reason == "error":
                done.pop(key, None)
            else:
                done[key] = trajectory
        return done


def read_trajectories(path: Path) -> list[Trajectory]:
    trajectories = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                trajectories.append(Trajectory.model_validate_json(line))
            except ValidationError:
                logger.warning("%s:%d: skipping an unreadable (torn) trajectory line", path, number)
    return trajectories


def read_run_info(path: Path) -> RunInfo:
    """`run_info.json` as written by `TrajectoryLog`; a file that does not validate names itself."""
    try:
        return RunInfo.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        raise ValueError(f"{path}: not a readable run_info.json: {exc}") from exc
