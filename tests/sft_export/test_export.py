"""`skill3d-eval train export`: program-policy trajectories of the training split → SFT data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skill3d_eval.agent.chat import question_text
from skill3d_eval.trajectory_log import read_trajectories
from skill3d_eval.cli import main as cli_main
from skill3d_eval.tools import ToolSet, default_toolset
from skill3d_eval.sft_export import (
    ExportError,
    ExportFilters,
    export_trajectories,
    scene_split,
)
from skill3d_eval.sft_export.rows import load_split
from skill3d_eval.lmms.sample import DEFAULT_NUM_FRAMES
from skill3d_eval.media.video import sample_frames
from tests.support.spatial_synth import task_score


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _correct(trajectories, synth_root, task_utils):
    """Trajectories the spatial_synth task scorer gives full marks."""
    docs = pd.read_parquet(synth_root / "data" / "train.parquet", columns=["id", "question_type", "question", "ground_truth", "options"]).to_dict("records")
    return [t for t in trajectories if task_score(task_utils, docs[t.doc_id], t.answer) >= 1.0]


def _rewrite(trajectories, path: Path) -> Path:
    path.write_text("".join(t.model_dump_json() + "\n" for t in trajectories))
    return path


def test_export_writes_trl_and_swift_conversations_split_by_scene(program_run, synth_root, task_utils, tmp_path):
    out = tmp_path / "export"
    card = export_trajectories([program_run], synth_root, out, validation_fraction=0.25, seed=1)
    trajectories = read_trajectories(program_run)
    correct = _correct(trajectories, synth_root, task_utils)

    assert card.read == len(trajectories) == 16
    assert card.rejected.get("incorrect", 0) == len(trajectories) - len(correct)
    exported = {split: _jsonl(out / "trl" / f"{split}.jsonl") for split in ("train", "validation")}
    assert sum(map(len, exported.values())) == len(correct) == sum(c.examples for c in card.splits.values())
    assert exported["validation"], "a 0.25 validation fraction must hold at least one scene"
    train_scenes = {r["scene"] for r in exported["train"]}
    validation_scenes = {r["scene"] for r in exported["validation"]}
    assert train_scenes and not train_scenes & validation_scenes
    assert sorted(validation_scenes) == card.splits["validation"].scenes

    by_id = {t.sample_id: t for t in trajectories}
    parquet = pd.read_parquet(synth_root / "data" / "train.parquet")
    for record in exported["train"] + exported["validation"]:
        trajectory = by_id[record["sample_id"]]
        messages = record["messages"]
        assert [m["role"] for m in messages[:2]] == ["system", "user"]
        assert sum(block["type"] == "image" for block in messages[1]["content"]) == len(record["images"]) == DEFAULT_NUM_FRAMES
        # The agent's own opening (agent.chat): program trajectories record no options, the row's are shown.
        assert messages[1]["content"][-1]["text"] == question_text(trajectory.question, list(parquet.iloc[trajectory.doc_id]["options"]))
        assert record["prompt"] == messages[:2] and messages[0]["content"][0]["text"].startswith("You answer spatial questions")
        calls = [m["tool_calls"][0]["function"] for m in messages if m.get("tool_calls")]
        expected = [c for turn in trajectory.turns for c in turn.tool_calls]
        assert [(c["name"], json.loads(c["arguments"])) for c in calls] == [(c.name, c.arguments) for c in expected]
        tool_messages = [m for m in messages if m["role"] == "tool"]
        assert json.loads(tool_messages[0]["content"][0]["text"]) == trajectory.turns[0].observations[0].content
        assert messages[-1] == {"role": "assistant", "content": [{"type": "text", "text": trajectory.answer}]}
        assert record["ground_truth"] == parquet.iloc[trajectory.doc_id]["ground_truth"]
        assert {t["function"]["name"] for t in json.loads(record["tools"])} == set(default_toolset().tools)
        # The frames the model sampled from the row's video, losslessly.
        first = sample_frames(synth_root / parquet.iloc[trajectory.doc_id]["video"], DEFAULT_NUM_FRAMES)[0]
        assert np.array_equal(np.asarray(Image.open(out / record["images"][0])), first)

    swift = _jsonl(out / "swift" / "train.jsonl")
    assert len(swift) == len(exported["train"])
    roles = [m["role"] for m in swift[0]["messages"]]
    assert roles[:2] == ["system", "user"] and roles[-1] == "assistant" and "tool_call" in roles and "tool_response" in roles
    assert swift[0]["messages"][1]["content"].count("<image>") == len(swift[0]["images"]) == DEFAULT_NUM_FRAMES
    assert all(Path(image).is_absolute() and Path(image).is_file() for image in swift[0]["images"])
    assert json.loads(swift[0]["tools"])[0]["type"] == "function"

    saved = json.loads((out / "data_card.json").read_text())
    assert saved["read"] == 16 and saved["policies"] == ["program"] and saved["sources"][0]["trajectories"] == 16
    assert "| train |" in (out / "README.md").read_text()


def test_filters_dedup_and_reasons_are_counted(program_run, synth_root, task_utils, tmp_path):
    trajectories = read_trajectories(program_run)
    correct = _correct(trajectories, synth_root, task_utils)
    wrong, failed, renamed, unanswered = (t.model_copy(deep=True) for t in correct[:4])
    wrong.answer = "9999"
    failed.turns[0].observations[0].ok = False
    failed.turns[0].observations[0].error = "expert unavailable"
    renamed.turns[0].tool_calls[0].name = "teleport"
    unanswered.stop_reason, unanswered.answer = "error", ""
    edited = _rewrite([wrong, failed, renamed, unanswered, *correct[4:]], tmp_path / "edited.jsonl")

    card = export_trajectories([edited, program_run], synth_root, tmp_path / "out", validation_fraction=0.0)
    assert card.rejected["incorrect"] == 1 + (len(trajectories) - len(correct))
    assert card.rejected["failed_tool_call"] == 1 and card.rejected["unknown_tool"] == 1 and card.rejected["not_answered:error"] == 1
    assert card.duplicates == len(correct) - 4, "the same trajectories read twice are exported once"
    assert card.splits["train"].examples == len(correct) and card.splits["validation"].examples == 0

    lenient = export_trajectories([edited], synth_root, tmp_path / "lenient", filters=ExportFilters(only_correct=False, only_well_formed=False), validation_fraction=0.0)
    assert lenient.rejected == {"not_answered:error": 1}

    tight = export_trajectories([program_run], synth_root, tmp_path / "tight", filters=ExportFilters(only_correct=False, max_images=4), validation_fraction=0.0)
    assert tight.rejected == {"too_many_images": len(trajectories)}
    turns = export_trajectories([program_run], synth_root, tmp_path / "turns", filters=ExportFilters(only_correct=False, max_turns=1), validation_fraction=0.0)
    assert turns.rejected == {"too_many_turns": len(trajectories)}

    only_depth = ToolSet([default_toolset().tools["estimate_depth"]])
    narrow = export_trajectories([program_run], synth_root, tmp_path / "narrow", filters=ExportFilters(only_correct=False), tools=only_depth, validation_fraction=0.0)
    assert narrow.rejected == {"unknown_tool": len(trajectories)}


def test_test_split_trajectories_are_refused(program_run, synth_root, tmp_path):
    trajectory = read_trajectories(program_run)[0]
    from_test = trajectory.model_copy(update={"sample_id": trajectory.sample_id.replace("/train/", "/test/")})
    path = _rewrite([from_test], tmp_path / "test_split.jsonl")
    with pytest.raises(ExportError, match=r"test_split\.jsonl \(trajectory 1\).*split 'test'.*refused"):
        export_trajectories([path], synth_root, tmp_path / "out")

    test_scene = load_split(synth_root, "test")[0].scene
    leaked = _rewrite([trajectory.model_copy(update={"scene": test_scene})], tmp_path / "leaked.jsonl")
    with pytest.raises(ExportError, match=rf"scene '{test_scene}'.*'test' split: refused"):
        export_trajectories([leaked], synth_root, tmp_path / "out")


def test_scene_split_is_deterministic_and_by_scene():
    scenes = [f"s{i}" for i in range(10)]
    split = scene_split(scenes * 3, 0.2, seed=0)
    assert split == scene_split(list(reversed(scenes)), 0.2, seed=0)
    assert sorted(split.values()).count("validation") == 2
    assert scene_split(["only"], 0.5, seed=0) == {"only": "train"}
    assert list(scene_split(["a", "b"], 0.01, seed=0).values()).count("validation") == 1


def test_cli_export_and_its_errors(program_run, synth_root, tmp_path, capsys):
    out = tmp_path / "cli"
    assert cli_main(["train", "export", str(program_run), "--out", str(out), "--dataset", str(synth_root), "--tools", "locate_objects,measure_distance"]) == 0
    assert "# Training data" in capsys.readouterr().out
    record = _jsonl(out / "trl" / "train.jsonl")[0]
    assert {t["function"]["name"] for t in json.loads(record["tools"])} == {"locate_objects", "measure_distance"}

    assert cli_main(["train", "export", str(program_run), "--out", str(out), "--tools", "teleport"]) == 2
    assert "--tools: unknown tools ['teleport']" in capsys.readouterr().out
    assert cli_main(["train", "export", str(tmp_path / "missing.jsonl"), "--out", str(out), "--dataset", str(synth_root)]) == 2
    assert "missing.jsonl does not exist" in capsys.readouterr().out
    assert cli_main(["train", "export", str(program_run), "--out", str(out), "--dataset", str(tmp_path)]) == 2
    assert "no split 'train'" in capsys.readouterr().out
