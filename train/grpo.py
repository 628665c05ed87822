"""GRPO on the training split's questions (TRL `GRPOTrainer`), configured by YAML.

    python -m train.grpo --config train/configs/grpo.yaml [--model DIR] [--data DIR] [--triton-url HOST:PORT] [--set max_steps=2]

Prompts are the exported conversations' opening (system + images + question); rewards are
`train.rewards` weighted by `reward_weights`. With `tools.triton_url` set, rollouts are
multi-turn: tool calls the policy emits run through our tool layer on the Triton experts
(`train.environment`) and their observations are fed back before it continues.
"""

from __future__ import annotations

import contextlib
import sys

import transformers
from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer

from skill3d_eval.experts import ExpertsClient
from skill3d_eval.tools import ToolSet, offered_tools
from train.checkpoint import save_checkpoint
from train.config import ConfigError, RunConfig, parse_args
from train.data import DataError, load_export
from train.environment import environment_factory
from train.pretrained import load_pretrained
from train.rewards import REWARDS

PROMPT_COLUMNS = ["prompt", "images", "ground_truth", "options", "question_type", "sample_id", "scene"]


def rollout_tools(config: RunConfig) -> ToolSet:
    try:
        return offered_tools(config.tools.names if config.tools is not None else None)
    except ValueError as exc:
        raise ConfigError(f"tools.names: {exc}") from None


def prompts(config: RunConfig, split: str) -> Dataset:
    dataset = load_export(config.data, split)
    return dataset.remove_columns([c for c in dataset.column_names if c not in PROMPT_COLUMNS])


def build_trainer(config: RunConfig, experts: ExpertsClient | None, *, eval_split: str | None = None) -> GRPOTrainer:
    """`eval_split`: also an `eval_dataset` of that export split's prompts (`train.reward_eval`)."""
    unknown = set(config.reward_weights) - set(REWARDS)
    if unknown:
        raise ConfigError(f"reward_weights: unknown rewards {sorted(unknown)} (known: {sorted(REWARDS)})")
    dataset = prompts(config, "train")
    processor, model = load_pretrained(config.model, padding_side="left")
    options = {"use_vllm": False, "report_to": "none", "remove_unused_columns": False, **config.trl, "reward_weights": list(config.reward_weights.values())}
    args = GRPOConfig(output_dir=str(config.output_dir), **options)
    return GRPOTrainer(
        model=model,
        reward_funcs=[REWARDS[name] for name in config.reward_weights],
        args=args,
        train_dataset=dataset,
        eval_dataset=prompts(config, eval_split) if eval_split else None,
        processing_class=processor,
        environment_factory=environment_factory(experts, rollout_tools(config)) if experts is not None else None,
    )


def main(argv: list[str] | None = None) -> int:
    try:
        config = parse_args(__doc__.splitlines()[0], argv)
    except ConfigError as exc:
        print(f"train.grpo: {exc}", file=sys.stderr)
        return 2
    transformers.set_seed(config.trl.get("seed", 42))
    with contextlib.ExitStack() as stack:
        experts = None
        if config.tools is not None:
            experts = stack.enter_context(ExpertsClient(config.tools.triton_url, timeout_s=config.tools.expert_timeout_s))
        try:
            trainer = build_trainer(config, experts)
        except (ConfigError, DataError) as exc:
            print(f"train.grpo: {exc}", file=sys.stderr)
            return 2
        save_checkpoint(trainer, trainer.train(), config, "grpo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
