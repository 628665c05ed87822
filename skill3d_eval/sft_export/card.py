"""The data card: what went into a training export and what was left out, with counts.

Written next to the data (JSON for tools, markdown for people) so a checkpoint can always be
traced to the trajectories, library and filters it was trained from.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from skill3d_eval.sft_export.filters import ExportFilters


class SourceFile(BaseModel):
    path: str
    sha256: str
    trajectories: int


class SplitCounts(BaseModel):
    examples: int = 0
    scenes: list[str] = Field(default_factory=list)
    question_types: dict[str, int] = Field(default_factory=dict)
    tool_calls: int = 0
    images: int = 0


class DataCard(BaseModel):
    dataset: str
    training_split: str
    sources: list[SourceFile]
    filters: ExportFilters
    validation_fraction: float
    seed: int
    read: int
    rejected: dict[str, int] = Field(default_factory=dict)
    duplicates: int = 0
    splits: dict[str, SplitCounts] = Field(default_factory=dict)
    library_sha256: list[str] = Field(default_factory=list)
    policies: list[str] = Field(default_factory=list)
    files: dict[str, str] = Field(default_factory=dict)

    def markdown(self) -> str:
        lines = [
            f"# Training data from `{self.dataset}` ({self.training_split} split)",
            "",
            f"- trajectories read: {self.read} from {len(self.sources)} file(s); policies: {', '.join(self.policies) or '-'}",
            f"- rejected: {sum(self.rejected.values())} " + (f"({', '.join(f'{k}: {v}' for k, v in sorted(self.rejected.items()))})" if self.rejected else ""),
            f"- duplicates dropped: {self.duplicates}",
            f"- split by scene, validation fraction {self.validation_fraction}, seed {self.seed}",
            f"- filters: {self.filters.model_dump_json()}",
            f"- skill libraries: {', '.join(s[:12] for s in self.library_sha256) or '-'}",
            "",
            "| split | examples | scenes | tool calls | images | question types |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for name, counts in self.splits.items():
            types = ", ".join(f"{k}: {v}" for k, v in sorted(counts.question_types.items()))
            lines.append(f"| {name} | {counts.examples} | {len(counts.scenes)} | {counts.tool_calls} | {counts.images} | {types} |")
        lines += ["", "Files: " + ", ".join(f"`{name}`" for name in sorted(self.files.values())), ""]
        return "\n".join(lines)

    def write(self, out_dir: Path) -> None:
        (out_dir / "data_card.json").write_text(self.model_dump_json(indent=2))
        (out_dir / "README.md").write_text(self.markdown())
