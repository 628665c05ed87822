"""Mean rewards of a checkpoint's tool rollouts on an export split it was not trained on.

    python -m train.reward_eval --config train/configs/grpo.yaml --model CHECKPOINT --triton-url HOST:PORT [--split validation] [--out FILE]

GRPO is only worth running if it raises the rewards it optimises on questions it never saw.
This measures exactly that with GRPO's own machinery: the trainer of `train.grpo` (same rewards
and weights, same multi-turn tool environment on the Triton experts, same sampling options)
evaluates the split's prompts, `num_generations_eval` rollouts each. Comparing two checkpoints
(SFT, then GRPO) with one config and seed compares them on the same questions and rewards.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import transformers

from skill3d_eval.experts import ExpertsClient
from train.config import ConfigError, load_config
from train.data import DataError
from train.grpo import build_trainer


def evaluate_rewards(config_path: Path, overrides: argparse.Namespace, split: str) -> dict[str, float]:
    config = load_config(config_path, overrides)
    if config.tools is None:
        raise ConfigError(f"{config_path}: tools.triton_url (or --triton-url) is needed: rollouts call the experts")
    transformers.set_seed(config.trl.get("seed", 42))
    with ExpertsClient(config.tools.triton_url, timeout_s=config.tools.expert_timeout_s) as experts:
        trainer = build_trainer(config, experts, eval_split=split)
        metrics = trainer.evaluate()
    return {key.removeprefix("eval_"): float(value) for key, value in metrics.items() if isinstance(value, (int, float))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="the GRPO YAML (rewards, tools, sampling)")
    parser.add_argument("--model", help="override `model`: the checkpoint to evaluate")
    parser.add_argument("--data", type=Path, help="override `data`")
    parser.add_argument("--triton-url", help="override `tools.triton_url`")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a `trl:` option")
    parser.add_argument("--split", default="validation", help="export split to evaluate on (default: validation, held out by scene)")
    parser.add_argument("--out", type=Path, help="also write the metrics here as JSON")
    args = parser.parse_args(argv)
    args.output_dir = None
    try:
        metrics = evaluate_rewards(args.config, args, args.split)
    except (ConfigError, DataError) as exc:
        print(f"train.reward_eval: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(metrics, indent=2, sort_keys=True)
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
