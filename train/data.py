"""The exported TRL JSONL as a `datasets.Dataset` with decoded images.

Image paths in the export are relative to the export directory (so it can be moved); they are
resolved here and cast to `datasets.Image`, which decodes lazily per batch.
"""

from __future__ import annotations

from pathlib import Path

import datasets


class DataError(ValueError):
    pass


def load_export(data_dir: Path, split: str) -> datasets.Dataset:
    path = data_dir / "trl" / f"{split}.jsonl"
    if not path.is_file():
        raise DataError(f"{path}: missing; run `skill3d-eval train export ... --out {data_dir}` first")
    dataset = datasets.load_dataset("json", data_files=str(path), split="train")
    if len(dataset) == 0:
        raise DataError(f"{path}: no examples (see {data_dir / 'README.md'} for what the filters rejected)")
    root = data_dir.resolve()
    dataset = dataset.map(lambda row: {"images": [str(root / image) for image in row["images"]]})
    return dataset.cast_column("images", datasets.Sequence(datasets.Image()))
