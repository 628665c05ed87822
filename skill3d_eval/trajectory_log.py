"""Per-run output directory: run metadata and one JSON line per finished sample.

Each line is written with a single append and flushed to disk before the sample counts as
done, so a crash or SIGKILL loses at most the line being written. Appends hold an exclusive
lock on the file and first cut off a torn last line (a kill or a full disk mid-write), so a
record is never glued onto a fragment; a torn line is also skipped on reading. One run at a
time may write a run directory (one per rank of a sharded run): a second is refused while the
first holds the directory's lock. A rerun of the same command reads the file back and skips
what is done.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from skill3d_eval.records import RunInfo, Trajectory

logger = logging.getLogger(__name__)


class RunDirectoryBusy(Exception):
    """Another live process writes this run directory."""


class TrajectoryLog:
    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.path = run_dir / "trajectories.jsonl"
        self._lock = threading.Lock()
        run_dir.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def exclusive(self, writer: str = "rank0") -> Iterator[None]:
        """Hold the directory for this writer; the OS drops the lock when the process dies, so a
        killed run never blocks its rerun."""
        lock_path = self.run_dir / f".lock.{writer}"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                raise RunDirectoryBusy(
                    f"run directory {self.run_dir} is being written by another run (pid {holder}, {writer}): "
                    "wait for it, or pass another run_name / output_dir"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            os.close(fd)

    def write_run_info(self, info: RunInfo) -> None:
        # A temporary file of its own per writer: ranks of a sharded run write this at once.
        fd, tmp = tempfile.mkstemp(dir=self.run_dir, prefix=".run_info.", suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            handle.write(info.model_dump_json(indent=2))
        os.replace(tmp, self.run_dir / "run_info.json")

    def append(self, trajectory: Trajectory) -> None:
        line = (trajectory.model_dump_json() + "\n").encode()
        with self._lock:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # ranks of a sharded run append to one file
                _cut_torn_tail(fd, self.path)
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    def answered(self, fingerprint: str) -> dict[str, Trajectory]:
        """The last successful trajectory per sample content hash recorded under these settings;
        lines without a content hash (older files) cannot be matched to a question and are re-asked."""
        if not self.path.is_file():
            return {}
        done: dict[str, Trajectory] = {}
        for trajectory in read_trajectories(self.path):
            if trajectory.fingerprint != fingerprint or not trajectory.sample_hash:
                continue
            if trajectory.stop_reason == "error":
                done.pop(trajectory.sample_hash, None)
            else:
                done[trajectory.sample_hash] = trajectory
        return done


def _cut_torn_tail(fd: int, path: Path) -> None:
    """Truncate after the last newline when the file does not end with one."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    end = size
    while end > 0:
        start = max(0, end - 65536)
        chunk = os.pread(fd, end - start, start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            end = start + newline + 1
            break
        end = start
    os.ftruncate(fd, end)
    logger.warning("%s: cut off a torn last line of %d bytes before appending", path, size - end)


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
