"""The sidecar that outlives a harness killed with SIGKILL or SIGTERM and cleans up its Triton.

`TritonServer` starts one per server, in its own session, holding the read end of a pipe as
stdin; the harness keeps the write end. When the harness exits for any reason the kernel closes
that end, the watchdog reads EOF and then:
  1. SIGKILLs every process whose command line names the server's private work directory (the
     `tritonserver` started with `--backend-directory=<workdir>/backends` and the Python backend
     stubs run from `<workdir>/backends/python/`), until none is left;
  2. removes the Python backend's shared-memory regions (`/dev/shm/<prefix>*`);
  3. removes the work directory.
After a clean `TritonServer.stop()` there is nothing left to do and it just exits.

Standard library only, run as a script (`python -I -S watchdog.py ...`): it starts in tens of
milliseconds and never imports the harness. `Watchdog` below is the harness's end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

SHM_DIR = Path("/dev/shm")


def processes_using(workdir: Path) -> list[int]:
    """Pids (other than ours) run from `workdir` or given a `--option=<workdir>/...`."""
    inside = os.fsencode(f"{workdir}{os.sep}")
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                argv = cmdline.read().split(b"\0")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if any(arg.startswith(inside) or b"=" + inside in arg for arg in argv):
            found.append(int(entry.name))
    return found


def kill_all(workdir: Path, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while (pids := processes_using(workdir)) and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.05)


def remove_shm(prefix: str) -> None:
    if not prefix:
        return
    for region in SHM_DIR.glob(f"{prefix}*"):
        try:
            region.unlink()
        except OSError:
            pass


def clean_up(workdir: Path, shm_prefix: str) -> list[str]:
    """Kill, remove; what was left over, for the log (nothing after a clean stop)."""
    left = [f"process {pid}" for pid in processes_using(workdir)]
    kill_all(workdir)
    regions = list(SHM_DIR.glob(f"{shm_prefix}*")) if shm_prefix else []
    left += [f"shared memory {region}" for region in regions]
    remove_shm(shm_prefix)
    shutil.rmtree(workdir, ignore_errors=True)
    return left


class _StopWaiting(Exception):
    pass


def _stop_waiting(*_: object) -> None:
    raise _StopWaiting


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--shm-prefix", default="")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for the harness: wait for its exit instead
    signal.signal(signal.SIGTERM, _stop_waiting)  # told to stop: clean up now
    try:
        while os.read(sys.stdin.fileno(), 4096):
            pass
    except _StopWaiting:
        pass
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    left = clean_up(args.workdir, args.shm_prefix)
    if left:
        print(f"skill3d watchdog: left behind by the server or its harness, now killed or removed: {', '.join(left)}", flush=True)
    return 0


# -- the harness's end --------------------------------------------------------------------------
_PIPES: set[int] = set()  # write ends held by this process


def _close_pipes_in_child() -> None:
    """A forked child (multiprocessing, a data loader) must not hold a write end: were it to
    outlive the harness, the watchdog would never see EOF."""
    for fd in _PIPES:
        try:
            os.close(fd)
        except OSError:
            pass
    _PIPES.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_pipes_in_child)


class Watchdog:
    """Start the sidecar for `workdir`; `close()` (after a clean stop) lets it finish and exit."""

    def __init__(self, workdir: Path, shm_prefix: str, log: IO[bytes] | None = None):
        read_end, self._pipe = os.pipe()  # both non-inheritable; only the child's stdin gets the read end
        _PIPES.add(self._pipe)
        command = [sys.executable, "-I", "-S", str(Path(__file__).resolve()), "--workdir", str(workdir), "--shm-prefix", shm_prefix]
        try:
            self.process = subprocess.Popen(
                command,
                stdin=read_end,
                stdout=log if log is not None else subprocess.DEVNULL,  # never the harness's pipes: a
                stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,  # reader would wait on it
                start_new_session=True,  # signals sent to the harness's process group do not reach it
            )
        except BaseException:
            self._release()
            raise
        finally:
            os.close(read_end)

    def _release(self) -> None:
        if self._pipe in _PIPES:
            _PIPES.discard(self._pipe)
            os.close(self._pipe)

    def close(self, timeout_s: float = 10.0) -> None:
        """Close our end and wait for the sweep (SIGKILL the sidecar after `timeout_s`). Idempotent."""
        self._release()
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


if __name__ == "__main__":
    sys.exit(main())
