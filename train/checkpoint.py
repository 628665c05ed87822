"""What a finished training run leaves: the model, its processor (with chat template) and its log.

The processor is saved next to the weights so the directory is a complete checkpoint that
`vllm serve` or `from_pretrained` loads as is; `train_result.json` keeps the loss curve.
"""

from __future__ import annotations

import json
from pathlib import Path

from transformers import Trainer
from transformers.trainer_utils import TrainOutput


def save_checkpoint(trainer: Trainer, result: TrainOutput, output_dir: Path) -> None:
    trainer.save_model(str(output_dir))
    if trainer.is_world_process_zero():
        trainer.processing_class.save_pretrained(str(output_dir))
        summary = {"training_loss": result.training_loss, "global_step": result.global_step, "log_history": trainer.state.log_history}
        (output_dir / "train_result.json").write_text(json.dumps(summary, indent=2))
