"""`skill3d-eval`: data generation, expert serving, evaluation helpers and the offline demo.

Each area registers its own subcommands (`register(commands)` in its `cli` module), so the
command line grows with the package without one file knowing every option. Importing an area
loads its package (datasets, tritonclient, matplotlib, ...: seconds), so only the module of the
command being run is imported; `skill3d-eval --help` and a mistyped command show the command
table below instead (`tests/test_cli_help.py` keeps it equal to what the modules register).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# module -> {command: one-line help}, in the order `--help` lists them.
COMMANDS: dict[str, dict[str, str]] = {
    "skill3d_eval.synth.cli": {"synth": "the spatial_synth benchmark"},
    "skill3d_eval.data.cli": {"data": "benchmark data from local sources"},
    "skill3d_eval.experts.cli": {"experts": "the Triton experts"},
    "skill3d_eval.demo": {"demo": "evolve skills on spatial_synth train, evaluate baselines and skills on test, print the leaderboard"},
    "skill3d_eval.skills.cli": {"skills": "the Skill Library"},
    "skill3d_eval.leaderboard.cli": {
        "leaderboard": "compare evaluated runs: scores with 95%% intervals, paired significance, cost; only runs on the same questions",
        "perception": (
            "perception vs reasoning: per policy and question set, the score drop of each run that swaps one expert off "
            "the all-oracle reference, with paired 95%% intervals"
        ),
    },
    "skill3d_eval.sft_export.cli": {"train": "training data for compact agents"},
    "skill3d_eval.lmms.cli": {"model-args": "every --model_args key of `lmms-eval --model skill3d`: type, default, description"},
}

EPILOG = (
    "Evaluation itself runs through lmms-eval: `lmms-eval --model skill3d --tasks spatial_synth --model_args policy=program`. "
    "`skill3d-eval model-args` lists the --model_args keys, `lmms-eval tasks list` our tasks, `skill3d-eval COMMAND --help` a command's options."
)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's default in its help, unless it has none or the help already says it (`(default ...`, `default: ...`)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or "(default" in (action.help or "") or "default:" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """Sub-parsers are made by `type(parent)`, so every command's parser shows its defaults."""

    def __init__(self, *args, formatter_class: type[argparse.HelpFormatter] = HelpFormatter, **kwargs) -> None:
        super().__init__(*args, formatter_class=formatter_class, **kwargs)


def build_parser(argv: Sequence[str] | None = None, *, every_command: bool = False) -> Parser:
    """The parser with the command `argv` names registered by its module (all of them with
    `every_command`); the other commands stand in the table with their help only."""
    parser = Parser(prog="skill3d-eval", description=__doc__.splitlines()[0], epilog=EPILOG)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    named = next((arg for arg in argv or () if not arg.startswith("-")), None)
    for module, helps in COMMANDS.items():
        if every_command or named in helps:
            importlib.import_module(module).register(commands)
        else:
            for name, help in helps.items():
                commands.add_parser(name, help=help, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
