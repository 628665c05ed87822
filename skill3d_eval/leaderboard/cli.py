"""`skill3d-eval leaderboard RUN_DIR...`: compare runs, print the table, write Markdown/HTML/PNG."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "leaderboard",
        help="compare evaluated runs: scores with 95%% intervals, paired significance, cost; only runs on the same questions",
    )
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR", help="a run's directory (lmms-eval output with --log_samples, and our trajectories); its name labels the row")
    parser.add_argument("--reference", help="the run (name or directory) the others are tested against; default: the first")
    parser.add_argument("--out", type=Path, help="write leaderboard.md, leaderboard.html and leaderboard.png here")
    parser.add_argument("--iterations", type=int, default=2000, help="bootstrap replicates (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(run=_leaderboard)


def _leaderboard(args: argparse.Namespace) -> int:
    from skill3d_eval.leaderboard import LeaderboardError, RunLoadError, report

    if args.iterations < 100:
        raise SystemExit(f"--iterations {args.iterations}: at least 100 replicates are needed for a 95% interval")
    try:
        report(args.run_dirs, args.out, reference=args.reference, iterations=args.iterations, seed=args.seed)
    except (LeaderboardError, RunLoadError) as exc:
        raise SystemExit(f"leaderboard: {exc}") from None
    return 0
