"""Run configuration from a YAML file plus command-line overrides, validated before any work.

The YAML names the checkpoint, the exported data and the output directory, and carries a `trl:`
block passed verbatim to TRL's `SFTConfig` / `GRPOConfig` (so every TRL option is available and
TRL itself rejects unknown ones). `--set key=value` overrides a `trl:` entry (parsed as YAML).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ConfigError(ValueError):
    pass


class ToolEnvironmentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    triton_url: str = Field(description="host:port of the Triton gRPC endpoint serving the experts")
    expert_timeout_s: float = Field(60.0, gt=0)
    names: list[str] | None = Field(None, description="the tools offered to the policy; default: all of default_toolset()")


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="checkpoint directory (or hub id when online)")
    data: Path = Field(description="a `skill3d-eval train export` directory")
    output_dir: Path
    reward_weights: dict[str, float] = Field(default_factory=lambda: {"answer": 1.0, "format": 0.2, "tool_use": 0.2})
    tools: ToolEnvironmentConfig | None = Field(None, description="GRPO only: execute tool calls on these experts during rollouts")
    trl: dict[str, Any] = Field(default_factory=dict)


def parse_args(description: str, argv: list[str] | None = None) -> RunConfig:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", type=Path, required=True, help="YAML run configuration")
    parser.add_argument("--model", help="override `model`")
    parser.add_argument("--data", type=Path, help="override `data`")
    parser.add_argument("--output-dir", type=Path, help="override `output_dir`")
    parser.add_argument("--triton-url", help="override `tools.triton_url`")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a `trl:` option")
    args = parser.parse_args(argv)
    return load_config(args.config, args)


def _scalar(text: str) -> Any:
    """A `--set` value as YAML reads it, except that `5e-4` is a number: YAML 1.1 (PyYAML) wants
    `5.0e-4` and would hand TRL the string "5e-4", which fails deep inside the optimizer."""
    value = yaml.safe_load(text)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def load_config(path: Path, overrides: argparse.Namespace | None = None) -> RunConfig:
    if not path.is_file():
        raise ConfigError(f"--config {path}: no such file")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    if overrides is not None:
        for key in ("model", "data", "output_dir"):
            if getattr(overrides, key, None) is not None:
                raw[key] = str(getattr(overrides, key))
        if overrides.triton_url:
            raw["tools"] = {**(raw.get("tools") or {}), "triton_url": overrides.triton_url}
        for item in overrides.set:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
            raw.setdefault("trl", {})[key] = _scalar(value)
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from None
