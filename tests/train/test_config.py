"""Run configuration and the multi-GPU launcher: bad input gets an error naming the file and key."""

from __future__ import annotations

import subprocess

import pytest

from skill3d_eval.settings import REPO_ROOT
from train.config import ConfigError, load_config, parse_args
from train.grpo import main as grpo_main

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
