"""Supervised fine-tuning on exported trajectories (TRL `SFTTrainer`), configured by YAML.

    python -m train.sft --config train/configs/sft.yaml [--model DIR] [--data DIR] [--output-dir DIR] [--set max_steps=2]

Loss is on the assistant's turns only (tool calls and the final answer), never on tool
observations or the prompt. TRL's vision collator drops the dataset's `tools` column, so the
collator here renders each conversation *with* its tool schemas, as the served model sees them.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import transformers
from trl import SFTConfig, SFTTrainer
from trl.data_utils import prepare_multimodal_messages
from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

from train.checkpoint import save_checkpoint
from train.config import ConfigError, RunConfig, parse_args
from train.data import DataError, load_export
from train.pretrained import load_pretrained


class ToolSchemaCollator(DataCollatorForVisionLanguageModeling):
    """TRL's vision collator, but the chat template also receives the example's tool schemas."""

    def _collate_language_modeling(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        schemas = {example.get("tools") for example in examples}
        if len(schemas) != 1:
            raise ValueError("examples of one batch carry different tool sets; export them separately")
        tools = json.loads(schemas.pop()) if examples[0].get("tools") else None
        messages = [prepare_multimodal_messages(example["messages"], images=example["images"]) for example in examples]
        output = self.processor.apply_chat_template(
            messages,
            tools=tools,
            chat_template=self.chat_template,
            tokenize=True,
            return_dict=True,
            return_tensors="pt",
            return_assistant_tokens_mask=self.assistant_only_loss,
            processor_kwargs={"padding": True, "padding_side": "right", "truncation": self.max_length is not None, "max_length": self.max_length, "add_special_tokens": False},
        )
        labels = output["input_ids"].clone()
        labels[output["attention_mask"] == 0] = -100
        if self.assistant_only_loss:
            labels[output.pop("assistant_masks") == 0] = -100
        output["labels"] = labels
        return output


def build_trainer(config: RunConfig) -> SFTTrainer:
    train_dataset = load_export(config.data, "train")
    processor, model = load_pretrained(config.model)
    options = {"assistant_only_loss": True, "remove_unused_columns": False, "report_to": "none", **config.trl}
    args = SFTConfig(output_dir=str(config.output_dir), **options)
    trainer = SFTTrainer(model=model, args=args, train_dataset=train_dataset, processing_class=processor)
    trainer.data_collator = ToolSchemaCollator(
        processor=processor, max_length=args.max_length, assistant_only_loss=args.assistant_only_loss, chat_template=trainer.chat_template,
    )
    return trainer


def main(argv: list[str] | None = None) -> int:
    try:
        config = parse_args(__doc__.splitlines()[0], argv)
        transformers.set_seed(config.trl.get("seed", 42))
        trainer = build_trainer(config)
    except (ConfigError, DataError) as exc:
        print(f"train.sft: {exc}", file=sys.stderr)
        return 2
    save_checkpoint(trainer, trainer.train(), config, "sft")
    return 0


if __name__ == "__main__":
    sys.exit(main())
