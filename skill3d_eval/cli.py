"""`skill3d-eval`: data generation, expert serving, evaluation helpers and the offline demo.

Each area registers its own subcommands (`register(commands)` in its `cli` module), so the
command line grows with the package without one file knowing every option.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = (
    "skill3d_eval.synth.cli",
    "skill3d_eval.data.cli",
    "skill3d_eval.experts.cli",
    "skill3d_eval.demo",
    "skill3d_eval.skills.cli",
    "skill3d_eval.leaderboard.cli",
    "skill3d_eval.sft_export.cli",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="skill3d-eval", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(commands)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
