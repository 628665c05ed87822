"""The original system's JSONL splits (images as relative paths) as sources of our tasks.

Overrides themselves run through the lmms-eval CLI in the other tests of this directory; here
the JSON builder and the media root are checked the way lmms-eval applies them."""

from __future__ import annotations

import argparse
import importlib.util
import json

import datasets
import pytest
import yaml

from skill3d_eval.data import DataError
from skill3d_eval.data.cli import register
from skill3d_eval.data.skill3d_splits import write_split_tasks
from skill3d_eval.settings import TASKS_DIR
from tests.fixtures.build import make_image

CV_ROWS = [
    {"idx": 0, "task": "Depth", "image": "CV-3D/img/0.png", "prompt": "Split row zero?\n(A) lamp\n(B) chair", "choices": ["lamp", "chair"], "answer": "(A)", "source": "Omni3D"},
    {"idx": 1, "task": "Distance", "image": "CV-3D/img/1.png", "prompt": "Split row one?\n(A) bed\n(B) tv", "choices": ["bed", "tv"], "answer": "(A)", "source": "Omni3D"},
]
BLINK_ROW = {"idx": "val_1", "image_1": "BLINK/a.png", "image_2": "BLINK/b.png", "prompt": "Split blink row?\n(A) left\n(B) right", "choices": ["left", "right"], "answer": "(B)", "sub_task": "Multi-view_Reasoning"}


@pytest.fixture
def splits(tmp_path):
    root = tmp_path / "dataset"
    for relative in ("CV-3D/img/0.png", "CV-3D/img/1.png", "BLINK/a.png", "BLINK/b.png"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        make_image(len(relative)).save(root / relative)
    folder = root / "skill3d_splits"
    folder.mkdir()
    (folder / "cv3d_test.jsonl").write_text("".join(json.dumps(row) + "\n" for row in CV_ROWS))
    (folder / "cv3d_train.jsonl").write_text(json.dumps(CV_ROWS[0]) + "\n")
    (folder / "blink_multiview_test.jsonl").write_text(json.dumps(BLINK_ROW) + "\n")
    return root


def _task_utils(task_dir):
    spec = importlib.util.spec_from_file_location(f"{task_dir}_utils", TASKS_DIR / task_dir / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_split_files_become_overrides_whose_rows_load_with_images_from_the_media_root(splits, tmp_path):
    written = write_split_tasks(splits / "skill3d_splits", splits, tmp_path / "over")
    assert set(written) == {"cvbench_3d", "blink_multiview"}
    for task, task_dir, expected_images in (("cvbench_3d", "cvbench_3d", 1), ("blink_multiview", "blink_multiview", 2)):
        override = yaml.safe_load(written[task].read_text())
        kwargs = override["lmms_eval_specific_kwargs"]["default"]
        assert kwargs["image_root"] == str(splits)
        # What lmms-eval does with the override: load the files with its builder, then the task's visuals.
        loaded = datasets.load_dataset(override["dataset_path"], data_files=override["dataset_kwargs"]["data_files"])
        utils = _task_utils(task_dir)
        for row in loaded["val" if task == "blink_multiview" else "test"]:
            images = utils.doc_to_visual(row, kwargs)
            assert len(images) == expected_images and images[0].size == (32, 24)
    cv = yaml.safe_load(written["cvbench_3d"].read_text())
    assert set(cv["dataset_kwargs"]["data_files"]) == {"test", "train"} and cv["training_split"] == "train"


def test_unusable_rows_are_named_by_file_and_line(splits, tmp_path):
    path = splits / "skill3d_splits" / "cv3d_test.jsonl"
    broken = dict(CV_ROWS[1])
    del broken["answer"]
    path.write_text(json.dumps(CV_ROWS[0]) + "\n" + json.dumps(broken) + "\n")
    with pytest.raises(DataError, match=r"cv3d_test.jsonl:2: missing column\(s\) answer"):
        write_split_tasks(splits / "skill3d_splits", splits, tmp_path / "over")
    path.write_text("{not json\n")
    with pytest.raises(DataError, match="cv3d_test.jsonl:1: not JSON"):
        write_split_tasks(splits / "skill3d_splits", splits, tmp_path / "over")
    with pytest.raises(DataError, match="no <benchmark>_test.jsonl"):
        write_split_tasks(tmp_path, splits, tmp_path / "over")


def test_data_commands_write_overrides(splits, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["data", "skill3d-splits", str(splits / "skill3d_splits"), "--media-root", str(splits), "--out", str(tmp_path / "a")])
    assert args.run(args) == 0
    assert "--include_path" in capsys.readouterr().out and (tmp_path / "a" / "cvbench_3d.yaml").is_file()
    args = parser.parse_args(["data", "local-task", "cvbench_3d", "--test", str(splits / "skill3d_splits" / "cv3d_test.jsonl"), "--image-root", str(splits), "--out", str(tmp_path / "b")])
    assert args.run(args) == 0
    override = yaml.safe_load((tmp_path / "b" / "cvbench_3d.yaml").read_text())
    assert override["dataset_path"] == "json" and override["lmms_eval_specific_kwargs"]["default"]["image_root"] == str(splits)
