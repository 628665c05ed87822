"""`skill3d-eval leaderboard RUN_DIR...`: compare runs, print the table, write Markdown/HTML/PNG;
`skill3d-eval perception RUN_DIR...`: the drop each expert swapped off its oracle costs a policy."""

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
    parser.add_argument(
        "--sort-by", default="avg", metavar="COLUMN",
        help="the score column runs are ranked on, best first inside each group: avg, or a task's column (counting, 'abs dist', 'rel dir', ...)",
    )
    parser.add_argument("--iterations", type=int, default=2000, help="bootstrap replicates (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap intervals")
    parser.set_defaults(run=_leaderboard)

    perception = commands.add_parser(
        "perception",
        help="perception vs reasoning: per policy and question set, the score drop of each run that swaps one expert off the all-oracle reference, with paired 95%% intervals",
    )
    perception.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR", help="a run's directory, as for `leaderboard`; its run_info.json must record its experts")
    perception.add_argument("--out", type=Path, help="write perception.md and perception.html here")
    perception.add_argument("--iterations", type=int, default=2000, help="bootstrap replicates (default 2000)")
    perception.add_argument("--seed", type=int, default=0, help="seed of the bootstrap intervals")
    perception.set_defaults(run=_perception)


def _leaderboard(args: argparse.Namespace) -> int:
    from skill3d_eval.leaderboard import LeaderboardError, RunLoadError, report

    if args.iterations < 100:
        raise SystemExit(f"--iterations {args.iterations}: at least 100 replicates are needed for a 95% interval")
    try:
        report(args.run_dirs, args.out, reference=args.reference, iterations=args.iterations, seed=args.seed, sort_by=args.sort_by)
    except (LeaderboardError, RunLoadError) as exc:
        raise SystemExit(f"leaderboard: {exc}") from None
    return 0


def _perception(args: argparse.Namespace) -> int:
    import sys

    from rich.console import Console

    from skill3d_eval.leaderboard import LeaderboardError, RunLoadError
    from skill3d_eval.leaderboard.perception import perception_split_of
    from skill3d_eval.leaderboard.perception_views import print_split, write_split

    if args.iterations < 100:
        raise SystemExit(f"--iterations {args.iterations}: at least 100 replicates are needed for a 95% interval")
    try:
        split = perception_split_of(args.run_dirs, iterations=args.iterations, seed=args.seed)
    except (LeaderboardError, RunLoadError) as exc:
        raise SystemExit(f"perception: {exc}") from None
    console = Console(width=None if sys.stdout.isatty() else 200)
    print_split(split, console)
    for kind, path in (write_split(split, args.out) if args.out is not None else {}).items():
        console.print(f"{kind}: {path}")
    return 0
