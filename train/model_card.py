"""The model card every training run writes into its checkpoint (`README.md` + `model_card.json`).

A checkpoint is only evidence if it can be traced to the exact data it was trained on and to
what it scored: the card names the base model, the export's training file by sha256 (and the
data card's, which lists the trajectories, filters and scenes behind it), the run's TRL options,
its training metrics, and any evaluation added later (`add_evaluation`). The JSON is the record;
the markdown is rendered from it, so the two cannot disagree.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

CARD_JSON = "model_card.json"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class TrainingData(BaseModel):
    export: str = Field(description="the `skill3d-eval train export` directory")
    train_file: str = "trl/train.jsonl"
    train_sha256: str = Field(description="sha256 of the export's trl/train.jsonl: the examples this run trained on")
    data_card_sha256: str | None = Field(None, description="sha256 of the export's data_card.json (sources, filters, scenes)")
    examples: int

    @classmethod
    def of_export(cls, export: Path) -> "TrainingData":
        train = export / "trl" / "train.jsonl"
        card = export / "data_card.json"
        with train.open("rb") as handle:
            examples = sum(1 for line in handle if line.strip())
        return cls(
            export=str(export.resolve()), train_sha256=file_sha256(train),
            data_card_sha256=file_sha256(card) if card.is_file() else None, examples=examples,
        )


class ModelCard(BaseModel):
    stage: Literal["sft", "grpo"]
    base_model: str = Field(description="the checkpoint training started from")
    data: TrainingData
    trl: dict[str, Any] = Field(default_factory=dict, description="the run's TRL options")
    training: dict[str, float] = Field(default_factory=dict, description="final loss, steps, runtime; GRPO: last step's mean rewards")
    evaluation: dict[str, float] = Field(default_factory=dict, description="added after training, by whoever evaluated the checkpoint")

    def markdown(self) -> str:
        lines = [
            f"# {self.stage.upper()} checkpoint trained from `{self.base_model}`",
            "",
            f"- training data: `{self.data.export}/{self.data.train_file}` ({self.data.examples} examples), sha256 `{self.data.train_sha256}`",
            f"- data card sha256: `{self.data.data_card_sha256 or '-'}`",
            f"- TRL options: `{', '.join(f'{k}={v}' for k, v in sorted(self.trl.items())) or '-'}`",
            "",
            "| metric | value |",
            "| --- | --- |",
        ]
        lines += [f"| training/{name} | {value:.6g} |" for name, value in sorted(self.training.items())]
        lines += [f"| evaluation/{name} | {value:.6g} |" for name, value in sorted(self.evaluation.items())]
        return "\n".join(lines) + "\n"

    def write(self, checkpoint: Path) -> None:
        (checkpoint / CARD_JSON).write_text(self.model_dump_json(indent=2))
        (checkpoint / "README.md").write_text(self.markdown())

    @classmethod
    def read(cls, checkpoint: Path) -> "ModelCard":
        return cls.model_validate_json((checkpoint / CARD_JSON).read_text())


def training_metrics(log_history: list[dict[str, Any]], summary: dict[str, Any]) -> dict[str, float]:
    """The run's summary numbers plus the last logged value of each loss / reward series."""
    metrics = {key: float(value) for key, value in summary.items() if isinstance(value, (int, float))}
    for entry in log_history:
        for key, value in entry.items():
            if isinstance(value, (int, float)) and (key == "loss" or key.startswith("reward")):
                metrics[f"last_{key}"] = float(value)
    return metrics


def add_evaluation(checkpoint: Path, metrics: dict[str, float]) -> ModelCard:
    """Record evaluation results in a checkpoint's card (merged with any already there)."""
    card = ModelCard.read(checkpoint)
    card = card.model_copy(update={"evaluation": {**card.evaluation, **metrics}})
    card.write(checkpoint)
    return card
