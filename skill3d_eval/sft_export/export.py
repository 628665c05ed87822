"""Successful skill-guided trajectories of a training split → SFT data (TRL and ms-swift JSONL).

Trajectories are joined to their benchmark rows, scored with the benchmark's own metric,
filtered, deduplicated and split into train / validation *by scene* (questions about one
scene share frames and objects: a random split would leak them). Trajectories of a test split,
or of a scene that also appears in a test split, are refused outright: training on them would
turn every later evaluation into a memory test.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skill3d_eval.agent.chat import arguments_json
from skill3d_eval.records import Trajectory
from skill3d_eval.trajectory_log import read_trajectories
from skill3d_eval.tools import ToolSet, default_toolset
from skill3d_eval.sft_export.card import DataCard, SourceFile, SplitCounts
from skill3d_eval.sft_export.conversation import swift_messages, training_messages, trl_messages
from skill3d_eval.sft_export.filters import ExportFilters, rejection_reason
from skill3d_eval.scoring import score
from skill3d_eval.sft_export.rows import ExportError, Row, load_split, split_of
from skill3d_eval.synth.schema import split_path

SPLITS = ("train", "validation")


@dataclass
class _Example:
    trajectory: Trajectory
    row: Row
    images: list[str]


def _image_files(row: Row, images_dir: Path) -> list[str]:
    """Frames as content-addressed files (shared by every question about the scene)."""
    names = []
    for data in row.frames:
        name = hashlib.sha256(data).hexdigest()[:24] + ".png"
        path = images_dir / name
        if not path.exists():
            path.write_bytes(data)
        names.append(f"images/{name}")
    return names


def _dedup_key(trajectory: Trajectory, row: Row) -> str:
    calls = [(c.name, arguments_json(c)) for turn in trajectory.turns for c in turn.tool_calls]
    payload = [row.scene, " ".join(trajectory.question.lower().split()), calls, trajectory.answer]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


def scene_split(scenes: list[str], validation_fraction: float, seed: int) -> dict[str, str]:
    """scene → "train" | "validation"; at least one validation scene when the fraction is > 0 and there are two scenes."""
    ordered = sorted(set(scenes))
    random.Random(seed).shuffle(ordered)
    count = round(validation_fraction * len(ordered))
    if validation_fraction > 0 and len(ordered) > 1:
        count = min(max(count, 1), len(ordered) - 1)
    return {scene: ("validation" if index < count else "train") for index, scene in enumerate(ordered)}


def _refuse_test_data(trajectory: Trajectory, where: str, training_split: str, test_scenes: dict[str, str]) -> None:
    split = split_of(trajectory.sample_id, where)
    if split != training_split:
        raise ExportError(f"{where}: trajectory {trajectory.sample_id} is from split {split!r}: only the training split {training_split!r} may be exported (test-split data is refused)")
    if trajectory.scene in test_scenes:
        raise ExportError(f"{where}: trajectory {trajectory.sample_id} is about scene {trajectory.scene!r}, which is in the {test_scenes[trajectory.scene]!r} split: refused")


def export_trajectories(
    trajectory_files: list[Path],
    dataset_root: Path,
    out_dir: Path,
    *,
    training_split: str = "train",
    test_splits: tuple[str, ...] = ("test",),
    filters: ExportFilters | None = None,
    validation_fraction: float = 0.2,
    seed: int = 0,
    tools: ToolSet | None = None,
) -> DataCard:
    """`tools`: the tools the trained model will be offered (their schemas go into every example)."""
    filters = filters or ExportFilters()
    tools = tools or default_toolset()
    if not 0 <= validation_fraction < 1:
        raise ExportError(f"--validation-fraction {validation_fraction}: must be in [0, 1)")
    rows = load_split(dataset_root, training_split)
    test_scenes = {row.scene: split for split in test_splits if split_path(dataset_root, split).is_file() for row in load_split(dataset_root, split)}
    images_dir = out_dir / "images"
    images_dir.mkdir(parents=True, exist_ok=True)

    sources, examples, seen = [], [], set()
    rejected: Counter[str] = Counter()
    read = duplicates = 0
    libraries, policies = set(), set()
    for path in trajectory_files:
        if not path.is_file():
            raise ExportError(f"trajectory file {path} does not exist")
        trajectories = read_trajectories(path)
        sources.append(SourceFile(path=str(path), sha256=hashlib.sha256(path.read_bytes()).hexdigest(), trajectories=len(trajectories)))
        for number, trajectory in enumerate(trajectories, 1):
            where = f"{path} (trajectory {number})"
            read += 1
            _refuse_test_data(trajectory, where, training_split, test_scenes)
            if not 0 <= trajectory.doc_id < len(rows):
                raise ExportError(f"{where}: {trajectory.sample_id}: no row {trajectory.doc_id} in {split_path(dataset_root, training_split)} ({len(rows)} rows)")
            row = rows[trajectory.doc_id]
            if trajectory.scene is not None and trajectory.scene != row.scene:
                raise ExportError(f"{where}: {trajectory.sample_id} is about scene {trajectory.scene!r} but row {row.row} is {row.scene!r}: wrong --dataset?")
            reason = rejection_reason(trajectory, score(vars(row), trajectory.answer).value, len(row.frames), tools, filters)
            if reason:
                rejected[reason] += 1
                continue
            key = _dedup_key(trajectory, row)
            if key in seen:
                duplicates += 1
                continue
            seen.add(key)
            policies.add(trajectory.policy)
            if trajectory.library_sha256:
                libraries.add(trajectory.library_sha256)
            examples.append(_Example(trajectory, row, _image_files(row, images_dir)))

    assignment = scene_split([e.row.scene for e in examples], validation_fraction, seed)
    tools_json = json.dumps(tools.openai_schemas())
    files, counts = {}, {}
    for split in SPLITS:
        chosen = [e for e in examples if assignment[e.row.scene] == split]
        counts[split] = SplitCounts(
            examples=len(chosen),
            scenes=sorted({e.row.scene for e in chosen}),
            question_types=dict(Counter(e.row.question_type for e in chosen)),
            tool_calls=sum(e.trajectory.tool_calls for e in chosen),
            images=sum(len(e.images) for e in chosen),
        )
        files[f"trl_{split}"] = _write_jsonl(out_dir / "trl" / f"{split}.jsonl", [_trl_record(e, tools_json) for e in chosen])
        files[f"swift_{split}"] = _write_jsonl(out_dir / "swift" / f"{split}.jsonl", [_swift_record(e, tools_json, out_dir) for e in chosen])
    card = DataCard(
        dataset=str(dataset_root), training_split=training_split, sources=sources, filters=filters,
        validation_fraction=validation_fraction, seed=seed, read=read, rejected=dict(rejected),
        duplicates=duplicates, splits=counts, library_sha256=sorted(libraries), policies=sorted(policies), files=files,
    )
    card.write(out_dir)
    return card


def _messages(example: _Example) -> list[dict[str, Any]]:
    """The agent's chat of the example, image parts naming the exported files.

    A trajectory that does not record its options (written before the field existed, or by a
    policy that never prompts, like `program`) is shown the row's, as the `llm` policy would be.
    """
    trajectory = example.trajectory
    if not trajectory.options and example.row.options:
        trajectory = trajectory.model_copy(update={"options": list(example.row.options)})
    return training_messages(trajectory, example.images)


def _trl_record(example: _Example, tools_json: str) -> dict[str, Any]:
    """TRL conversational format plus the columns the GRPO rewards and tool environment read."""
    messages = _messages(example)
    return {
        "messages": trl_messages(messages),
        "prompt": trl_messages(messages[:2]),
        "images": example.images,
        "tools": tools_json,
        "sample_id": example.trajectory.sample_id,
        "scene": example.row.scene,
        "question_type": example.row.question_type,
        "ground_truth": example.row.ground_truth,
        "options": example.row.options,
    }


def _swift_record(example: _Example, tools_json: str, out_dir: Path) -> dict[str, Any]:
    """ms-swift's `messages` + `images` (absolute paths) + `tools` (a JSON string) agent format."""
    return {
        "messages": swift_messages(_messages(example)),
        "images": [str((out_dir / image).resolve()) for image in example.images],
        "tools": tools_json,
    }


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return str(path.relative_to(path.parents[1]))
