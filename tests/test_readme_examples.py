"""The README's commands still parse: every `skill3d-eval ...` line against the real argument
parser, every `lmms-eval --model skill3d --model_args ...` through lmms-eval's own model_args
splitter and our settings model, every `python -m train.sft|grpo` against its parser. A renamed
option or a misspelt key in a copy-paste block then fails here, not for the reader."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from lmms_eval.utils import simple_parse_args_string

from skill3d_eval.cli import build_parser
from skill3d_eval.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"
ASSIGNMENT = re.compile(r"^([A-Z_]+)=(\S+)$")


def _commands() -> list[list[str]]:
    """Shell words of each command line in the README's bash blocks, continuations joined,
    comments and background `&` dropped, `$NAME` expanded from the block's own assignments."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S):
        variables = {"PWD": str(README.parent)}
        pending = ""
        for line in block.replace("\\\n", " ").splitlines():
            pending += line + "\n"
            try:
                words = shlex.split(pending, comments=True)
            except ValueError:  # a quotation spans lines (e.g. `bash -c '...'`)
                continue
            pending = ""
            if len(words) == 1 and (assignment := ASSIGNMENT.match(words[0])):
                variables[assignment[1]] = assignment[2]
                continue
            words = [re.sub(r"\$(\w+)", lambda m: variables.get(m[1], m[0]), word) for word in words if word != "&"]
            if words:
                commands.append(words)
    return commands


COMMANDS = _commands()
SKILL3D = [words for words in COMMANDS if words[0] == "skill3d-eval"]
LMMS = [words for words in COMMANDS if words[0] == "lmms-eval" and "skill3d" in words]
TRAIN = [words for words in COMMANDS if words[:2] == ["python", "-m"] and words[2].startswith("train.")]


def test_the_readme_has_the_worked_examples():
    assert len(SKILL3D) >= 8 and len(LMMS) >= 8 and len(TRAIN) >= 2
    sections = re.findall(r"^\*\*(\d)\. ", README.read_text().split("## Worked examples", 1)[1].split("\n## ", 1)[0], flags=re.M)
    assert sections == ["1", "2", "3", "4", "5"]


@pytest.mark.parametrize("words", SKILL3D, ids=[" ".join(w[:3]) for w in SKILL3D])
def test_skill3d_eval_commands_parse(words):
    argv = words[1:]
    build_parser(argv).parse_args(argv)  # argparse exits on an unknown or missing option


@pytest.mark.parametrize("words", LMMS, ids=[str(i) for i in range(len(LMMS))])
def test_lmms_eval_model_args_are_settings(words):
    model_args = simple_parse_args_string(words[words.index("--model_args") + 1])
    unknown = sorted(set(model_args) - set(Settings.model_fields))
    assert not unknown, f"README --model_args keys the settings model does not have: {unknown}"
    placeholders = {key for key, value in model_args.items() if "<" in str(value)}
    Settings.from_model_args({key: value for key, value in model_args.items() if key not in placeholders})


@pytest.mark.parametrize("words", TRAIN, ids=[w[2] for w in TRAIN])
def test_training_commands_parse(words, monkeypatch):
    from train.config import parse_args

    loaded = []
    monkeypatch.setattr("train.config.load_config", lambda path, overrides: loaded.append((path, overrides)))
    parse_args("README check", words[3:])
    path, overrides = loaded[0]
    assert (README.parent / path).is_file(), f"README names a training config that does not exist: {path}"
