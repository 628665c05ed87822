"""Start-up time of `skill3d-eval --help`, beside a bare `python -c pass` (the interpreter's floor).

Median of 5 runs each, wall clock of the whole process. Target: <= 0.5 s.
Run: .venv/bin/python benchmarks/cli_startup.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 5
TARGET_S = 0.5


def median_seconds(command: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    bare = median_seconds([sys.executable, "-c", "pass"])
    help_s = median_seconds([str(Path(sys.executable).parent / "skill3d-eval"), "--help"])
    print(f"python -c pass: {bare:.3f} s (median of {RUNS})")
    print(f"RESULT cli_help_seconds {help_s:.3f} target <= {TARGET_S} {'PASS' if help_s <= TARGET_S else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
