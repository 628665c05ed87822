"""Build, print and write the leaderboard in one call: what `skill3d-eval leaderboard` and the demo do."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from skill3d_eval.leaderboard.render import print_leaderboard
from skill3d_eval.leaderboard.table import Leaderboard, build_leaderboard
from skill3d_eval.leaderboard.writers import write_all


def report(
    run_dirs: Sequence[str | Path],
    out_dir: Path | None = None,
    *,
    reference: str | Path | None = None,
    iterations: int = 2000,
    seed: int = 0,
    sort_by: str = "avg",
    console: Console | None = None,
) -> tuple[Leaderboard, dict[str, Path]]:
    """Print the tables to the terminal; with `out_dir`, also write leaderboard.{md,html,png} there.

    `sort_by`: the score column rows are ranked on (`build_leaderboard`)."""
    # Piped output (make demo, CI logs) has no width to detect: the tables split to fit 100 columns,
    # what a log is usually read in, rather than rich's 80.
    console = console or Console(width=None if sys.stdout.isatty() else 100)
    leaderboard = build_leaderboard(run_dirs, reference, iterations=iterations, seed=seed, sort_by=sort_by)
    print_leaderboard(leaderboard, console)
    written = write_all(leaderboard, out_dir) if out_dir is not None else {}
    for kind, path in written.items():
        console.print(f"{kind}: {path}")
    return leaderboard, written
