"""Run configuration and the multi-GPU launcher: bad input gets an error naming the file and key."""

from __future__ import annotations

import json
import subprocess

import pytest

from skill3d_eval.settings import REPO_ROOT
from train.config import ConfigError, load_config, parse_args
from train.grpo import main as grpo_main
from train.sft import main as sft_main

CONFIGS = REPO_ROOT / "train" / "configs"


@pytest.mark.parametrize("name", ["sft.yaml", "grpo.yaml", "sft_tiny.yaml", "grpo_tiny.yaml"])
def test_shipped_configs_validate(name):
    config = load_config(CONFIGS / name)
    assert config.trl and config.output_dir


def test_command_line_overrides_the_yaml(tmp_path):
    config = parse_args("x", ["--config", str(CONFIGS / "grpo_tiny.yaml"), "--model", "m", "--output-dir", str(tmp_path), "--triton-url", "h:1", "--set", "max_steps=7", "--set", "beta=0.1"])
    assert (config.model, config.output_dir, config.tools.triton_url) == ("m", tmp_path, "h:1")
    assert config.tools.names == ["locate_objects", "measure_distance"]
    assert config.trl["max_steps"] == 7 and config.trl["beta"] == 0.1
    # exponent notation is a number (PyYAML alone reads "5e-4" as a string), other words stay text
    config = parse_args("x", ["--config", str(CONFIGS / "grpo_tiny.yaml"), "--set", "learning_rate=5e-4", "--set", "lr_scheduler_type=cosine", "--set", "report_to=none"])
    assert config.trl["learning_rate"] == 5e-4 and config.trl["lr_scheduler_type"] == "cosine" and config.trl["report_to"] == "none"


def test_bad_configs_name_the_problem(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: m\ndata: d\noutput_dir: o\nlearning_rate: 1\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: learning_rate: Extra inputs are not permitted"):
        load_config(bad)
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match=r"--set 'max_steps': expected KEY=VALUE"):
        parse_args("x", ["--config", str(CONFIGS / "sft_tiny.yaml"), "--set", "max_steps"])
    assert grpo_main(["--config", str(bad)]) == 2
    assert "bad.yaml: learning_rate" in capsys.readouterr().err


def test_launcher_builds_the_accelerate_command():
    launch = REPO_ROOT / "train" / "launch.sh"
    out = subprocess.run(["bash", str(launch), "grpo", str(CONFIGS / "grpo.yaml"), "--backend", "zero3", "--gpus", "4", "--dry-run", "--", "--triton-url", "t:8001"], capture_output=True, text=True, check=True).stdout
    assert "-m accelerate.commands.launch --config_file" in out and "train/accelerate/zero3.yaml --num_processes 4 -m train.grpo" in out
    assert out.strip().endswith("--triton-url t:8001")
    failed = subprocess.run(["bash", str(launch), "sft", str(CONFIGS / "sft.yaml"), "--backend", "zero9"], check=False, capture_output=True, text=True)
    assert failed.returncode == 2 and "unknown backend 'zero9'" in failed.stderr
    assert all((REPO_ROOT / "train" / "accelerate" / f"{b}.yaml").is_file() for b in ("ddp", "zero2", "zero3"))


@pytest.mark.parametrize("entry", [sft_main, grpo_main], ids=["sft", "grpo"])
def test_a_missing_export_or_checkpoint_is_named_before_any_training(entry, tmp_path, capsys):
    """The data is checked first (cheap), then the checkpoint: both end in one line naming the
    setting and exit 2, not in the Hub client's traceback."""
    config = tmp_path / "run.yaml"
    config.write_text(f"model: {tmp_path / 'no-such-checkpoint'}\ndata: {tmp_path / 'export'}\noutput_dir: {tmp_path / 'out'}\ntrl: {{}}\n")
    assert entry(["--config", str(config)]) == 2
    assert f"{tmp_path / 'export' / 'trl' / 'train.jsonl'}: missing" in capsys.readouterr().err
    (tmp_path / "export" / "trl").mkdir(parents=True)
    row = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "1"}], "prompt": [{"role": "user", "content": "q"}], "images": []}
    (tmp_path / "export" / "trl" / "train.jsonl").write_text(json.dumps(row) + "\n")
    for model in (tmp_path / "no-such-checkpoint", tmp_path):  # absent; a directory that holds no checkpoint
        assert entry(["--config", str(config), "--model", str(model)]) == 2
        err = capsys.readouterr().err
        assert f"model: '{model}' is not a checkpoint directory or a model in the local HF cache" in err and "Traceback" not in err
