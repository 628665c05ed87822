"""`skill3d-eval` explains itself: every option has help showing its default, the command table
matches what the areas register, and `--help` loads none of the heavy libraries."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from skill3d_eval.cli import COMMANDS, Parser, build_parser

STARTUP = {"skill3d_eval.lmms", "skill3d_eval.lmms.task_search_path"}  # skill3d_eval_tasks.pth
HEAVY = ("torch", "transformers", "datasets", "lmms_eval", "tritonclient", "pandas", "matplotlib", "numpy", "openai", "sqlalchemy")


def parsers_under(parser: argparse.ArgumentParser, path: str) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += parsers_under(child, f"{path} {name}")
    return found


def missing_help_or_default(parser: argparse.ArgumentParser) -> list[str]:
    text = "".join(parser.format_help().split())
    problems = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        name = "/".join(action.option_strings) or action.dest
        if not (action.help or "").strip():
            problems.append(f"{name}: no help")
        elif action.default not in (None, argparse.SUPPRESS) and "".join(str(action.default).split()) not in text:
            problems.append(f"{name}: default {action.default!r} not shown")
    return problems


@pytest.mark.parametrize("module", list(COMMANDS))
def test_every_option_has_help_that_shows_its_default(module):
    commands = COMMANDS[module]
    parser = build_parser([next(iter(commands))])
    problems = []
    for path, sub in parsers_under(parser, "skill3d-eval"):
        if path.split(" ")[1:2] and path.split(" ")[1] in commands:
            problems += [f"{path}: {problem}" for problem in missing_help_or_default(sub)]
    assert problems == []


def test_the_formatter_adds_a_default_only_where_there_is_one():
    parser = Parser(prog="p")
    parser.add_argument("--n", type=int, default=3, help="how many")
    parser.add_argument("--name", help="a name")
    parser.add_argument("--iterations", type=int, default=2000, help="replicates (default 2000)")
    text = parser.format_help()
    assert "how many (default: 3)" in text and "(default: None)" not in text and text.count("2000") == 1


def test_the_command_table_is_what_the_modules_register():
    for module, helps in COMMANDS.items():
        parser = argparse.ArgumentParser()
        __import__(module, fromlist=["register"]).register(parser.add_subparsers())
        (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        registered = {choice.dest: choice.help for choice in action._choices_actions}
        assert registered == helps, module


def imported_by(*args: str) -> set[str]:
    """The modules a fresh interpreter holds after `skill3d-eval ARGS` (the .pth start-up hook included)."""
    code = f"import json, sys\nfrom skill3d_eval.cli import main\ntry:\n    main({list(args)!r})\nexcept SystemExit:\n    pass\nprint(json.dumps(sorted(sys.modules)))"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "usage: skill3d-eval" in completed.stdout, completed.stderr[-2000:]
    return set(json.loads(completed.stdout.splitlines()[-1]))


def test_help_imports_no_heavy_library():
    modules = imported_by("--help")
    assert "skill3d_eval.cli" in modules
    assert sorted(m for m in modules if m.split(".")[0] in HEAVY) == []
    assert {m for m in modules if m.startswith("skill3d_eval.")} <= {"skill3d_eval.cli", *STARTUP}


def test_a_command_imports_only_its_own_area():
    modules = imported_by("synth", "generate", "--help")
    assert "skill3d_eval.synth.cli" in modules
    assert not {"skill3d_eval.experts", "skill3d_eval.leaderboard", "skill3d_eval.skills", "tritonclient", "matplotlib"} & modules
