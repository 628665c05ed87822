"""What a finished training run leaves: the model, its processor (with chat template), its log and its card.

The processor is saved next to the weights so the directory is a complete checkpoint that
`vllm serve` or `from_pretrained` loads as is; `train_result.json` keeps the loss curve and the
model card (`train.model_card`) ties the weights to their training data by hash.
"""

from __future__ import annotations

import json

from transformers import Trainer
from transformers.trainer_utils import TrainOutput

from train.config import RunConfig
from train.model_card import ModelCard, TrainingData, training_metrics


def save_checkpoint(trainer: Trainer, result: TrainOutput, config: RunConfig, stage: str) -> None:
    output_dir = config.output_dir
    trainer.save_model(str(output_dir))
    if trainer.is_world_process_zero():
        trainer.processing_class.save_pretrained(str(output_dir))
        summary = {"training_loss": result.training_loss, "global_step": result.global_step, "log_history": trainer.state.log_history}
        (output_dir / "train_result.json").write_text(json.dumps(summary, indent=2))
        ModelCard(
            stage=stage, base_model=config.model, data=TrainingData.of_export(config.data), trl=config.trl,
            training=training_metrics(trainer.state.log_history, {"training_loss": result.training_loss, "global_step": result.global_step, **result.metrics}),
        ).write(output_dir)
