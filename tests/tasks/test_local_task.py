"""Override YAMLs that point our tasks at local sources, and their errors."""

from __future__ import annotations

import datasets
import pytest
import yaml

from skill3d_eval.data import DataError, write_local_task
from skill3d_eval.settings import TASKS_DIR


def _override(path):
    return yaml.safe_load(path.read_text())


def test_a_parquet_file_becomes_the_test_split_with_media_root(tmp_path):
    data = tmp_path / "vsi.parquet"
    datasets.Dataset.from_dict({"id": [1]}).to_parquet(data)
    path = write_local_task("vsi_bench", data, tmp_path / "over", video_root=tmp_path / "videos")
    override = _override(path)
    assert override["include"] == str(TASKS_DIR / "vsi_bench" / "vsi_bench.yaml")
    assert override["task"] == "vsi_bench" and override["dataset_name"] is None
    assert override["dataset_path"] == "parquet"
    assert override["dataset_kwargs"]["data_files"] == {"test": str(data)}
    specific = override["lmms_eval_specific_kwargs"]["default"]
    assert specific["video_root"] == str(tmp_path / "videos")
    assert specific["na_post_prompt"].startswith("Please answer")  # the rest of ours is kept


def test_a_directory_uses_the_tasks_split_names_and_train_jsonl(tmp_path):
    (tmp_path / "val.jsonl").write_text('{"idx": "a"}\n')
    override = _override(write_local_task("blink_multiview", tmp_path, tmp_path / "over"))
    assert override["dataset_path"] == "json"
    assert override["dataset_kwargs"]["data_files"] == {"val": str(tmp_path / "val.jsonl")}
    test, train = tmp_path / "test.jsonl", tmp_path / "train.jsonl"
    test.write_text("{}\n")
    train.write_text("{}\n")
    override = _override(write_local_task("spatial_synth", test, tmp_path / "over", train=train))
    assert override["dataset_kwargs"]["data_files"] == {"test": str(test), "train": str(train)}
    assert override["training_split"] == "train"


def test_a_saved_dataset_directory_is_loaded_from_disk(tmp_path):
    datasets.DatasetDict({"test": datasets.Dataset.from_dict({"id": [1]})}).save_to_disk(tmp_path / "saved")
    override = _override(write_local_task("cvbench_3d", tmp_path / "saved", tmp_path / "over"))
    assert override["dataset_path"] == str(tmp_path / "saved")
    assert override["dataset_kwargs"] == {"load_from_disk": True}


@pytest.mark.parametrize(
    ("task", "source", "kwargs", "message"),
    [
        ("vsibench", "data.parquet", {}, "not one of ours"),
        ("vsi_bench", "missing.parquet", {}, "missing.parquet: no such file"),
        ("vsi_bench", "data.txt", {}, "unsupported data file type"),
        ("vsi_bench", ".", {}, "expected a save_to_disk directory"),
        ("mmsibench", "data.parquet", {"video_root": "v"}, "reads no video-root"),
    ],
)
def test_bad_sources_are_named(tmp_path, task, source, kwargs, message):
    (tmp_path / "data.parquet").write_bytes(b"")
    (tmp_path / "data.txt").write_text("")
    with pytest.raises(DataError, match=message):
        write_local_task(task, tmp_path / source, tmp_path / "over", **kwargs)
