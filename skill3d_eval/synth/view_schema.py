"""The parquet forms of the frame-question subsets, in each benchmark's own column schema.

Columns are the real datasets' (CV-Bench `3D`, BLINK `Multi-view_Reasoning`, MMSI-Bench) plus
two of ours at the end, `scene_name` and `frame_indices`, which say which frames the images
are so the consistency check can recompute every answer; task code ignores extra columns.
Images are the scene's PNG frames, byte for byte, so the oracle experts recognise them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import datasets
import pyarrow.parquet as pq

from skill3d_eval.synth.view_questions import BLINK, CV3D, MMSI, ViewQuestion

_EXTRA = {"scene_name": datasets.Value("string"), "frame_indices": datasets.List(datasets.Value("int64"))}
FEATURES = {
    CV3D: datasets.Features(
        {
            "idx": datasets.Value("int64"),
            "type": datasets.Value("string"),
            "task": datasets.Value("string"),
            "image": datasets.Image(),
            "question": datasets.Value("string"),
            "choices": datasets.List(datasets.Value("string")),
            "answer": datasets.Value("string"),
            "prompt": datasets.Value("string"),
            "filename": datasets.Value("string"),
            "source": datasets.Value("string"),
            "source_dataset": datasets.Value("string"),
            **_EXTRA,
        }
    ),
    BLINK: datasets.Features(
        {
            "idx": datasets.Value("string"),
            "question": datasets.Value("string"),
            "sub_task": datasets.Value("string"),
            **{f"image_{i}": datasets.Image() for i in range(1, 5)},
            "choices": datasets.List(datasets.Value("string")),
            "answer": datasets.Value("string"),
            "prompt": datasets.Value("string"),
            "explanation": datasets.Value("string"),
            **_EXTRA,
        }
    ),
    MMSI: datasets.Features(
        {
            "id": datasets.Value("int64"),
            "images": datasets.List(datasets.Value("binary")),
            "question_type": datasets.Value("string"),
            "question": datasets.Value("string"),
            "answer": datasets.Value("string"),
            "thought": datasets.Value("string"),
            "difficulty": datasets.Value("string"),
            **_EXTRA,
        }
    ),
}


def view_row(benchmark: str, row_id: int, split: str, scene: str, question: ViewQuestion, pngs: Mapping[int, bytes]) -> dict:
    """`pngs` maps frame index to PNG bytes (at least the question's frames)."""
    frames = [{"bytes": pngs[i], "path": None} for i in question.frames]
    extra = {"scene_name": scene, "frame_indices": list(question.frames)}
    if benchmark == CV3D:
        return {
            "idx": row_id, "type": "3D", "task": question.kind, "image": frames[0], "question": question.question,
            "choices": list(question.choices), "answer": question.answer, "prompt": question.prompt,
            "filename": f"{scene}/frame_{question.frames[0]:03d}.png", "source": "spatial_synth",
            "source_dataset": "spatial_synth", **extra,
        }
    if benchmark == BLINK:
        images = {f"image_{i + 1}": frames[i] if i < len(frames) else None for i in range(4)}
        return {
            "idx": f"{split}_{question.kind}_{row_id}", "question": question.question, "sub_task": question.kind,
            **images, "choices": list(question.choices), "answer": question.answer, "prompt": question.prompt,
            "explanation": "", **extra,
        }
    return {
        "id": row_id, "images": [f["bytes"] for f in frames], "question_type": question.kind,
        "question": question.question, "answer": question.answer, "thought": "", "difficulty": "", **extra,
    }


def write_view_split(benchmark: str, rows: list[dict], path: Path) -> None:
    features = FEATURES[benchmark]
    columns = {name: [row[name] for row in rows] for name in features}  # an empty split keeps its columns
    table = datasets.Dataset.from_dict(columns, features=features).data.table
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
