"""Per-run output directory: run metadata and one JSON line per finished sample.

Lines are appended and flushed one at a time under a lock, so concurrent agent loops never
interleave and an interrupted run keeps every sample it finished.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from skill3d_eval.agent.records import Trajectory


class TrajectoryLog:
    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.path = run_dir / "trajectories.jsonl"
        self._lock = threading.Lock()
        run_dir.mkdir(parents=True, exist_ok=True)

    def write_run_info(self, info: dict[str, Any]) -> None:
        (self.run_dir / "run_info.json").write_text(json.dumps(info, indent=2, sort_keys=True, default=str))

    def append(self, trajectory: Trajectory) -> None:
        line = trajectory.model_dump_json() + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()


def read_trajectories(path: Path) -> list[Trajectory]:
    with path.open(encoding="utf-8") as handle:
        return [Trajectory.model_validate_json(line) for line in handle if line.strip()]
