"""`skill3d-eval data layout DIR`: which layout DIR is, and overrides whose rows load as lmms-eval
loads them (its builder on the override's data_files, then the task's own `doc_to_visual`)."""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import zipfile

import datasets
import pytest
import yaml

from skill3d_eval.data import DataError
from skill3d_eval.data.cli import register
from skill3d_eval.data.layouts import card_data_files, write_layout
from skill3d_eval.data.rows import BlinkRow, CvBenchRow, VsiRow, check
from skill3d_eval.settings import TASKS_DIR
from tests.data.miniature import MISSING_SCENE, ORIGINAL_CV, hf_snapshots, original_dataset, vsi_rows


def _utils(task_dir):
    spec = importlib.util.spec_from_file_location(f"layout_{task_dir}_utils", TASKS_DIR / task_dir / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(override_path):
    """The override's test rows, loaded as lmms-eval loads them, and its task kwargs."""
    override = yaml.safe_load(override_path.read_text())
    files = override["dataset_kwargs"]["data_files"]
    split = next(iter(files))
    loaded = datasets.load_dataset(override["dataset_path"], data_files=files)[split]
    return list(loaded), override["lmms_eval_specific_kwargs"]["default"]


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory):
    root = hf_snapshots(tmp_path_factory.mktemp("snapshots"))
    out = root.parent / "overrides"
    return root, out, {entry.task: entry for entry in write_layout(root, out)}


def test_a_directory_of_snapshots_serves_every_benchmark(snapshots):
    root, _out, found = snapshots
    assert set(found) == {"vsi_bench", "cvbench_3d", "blink_multiview", "mmsibench", "mmsibench_pr", "mmsibench_widened", "mmsibench_pr_widened"}
    assert {entry.layout for entry in found.values()} == {"hf-snapshot"}
    assert found["vsi_bench"].source == root / "VSI-Bench" and found["blink_multiview"].source == root / "BLINK"
    assert "no videos of scannetpp" in found["vsi_bench"].note


def test_vsi_snapshot_questions_come_from_the_card_and_videos_are_unpacked_beside_the_archives(snapshots):
    root, _out, found = snapshots
    override = yaml.safe_load(found["vsi_bench"].override.read_text())
    assert override["dataset_kwargs"]["data_files"] == {"test": [str(root / "VSI-Bench" / "questions" / "full.parquet")]}
    rows, kwargs = _rows(found["vsi_bench"].override)
    assert [row["id"] for row in rows] == [row["id"] for row in vsi_rows()]
    utils = _utils("vsi_bench")
    for row in rows[:-1]:
        assert utils.doc_to_visual(row, kwargs) == [str(root / "VSI-Bench" / row["dataset"] / f"{row['scene_name']}.mp4")]
    # The row whose archive the snapshot lacks: its error names where its video was expected.
    expected = root / "VSI-Bench" / MISSING_SCENE[0] / f"{MISSING_SCENE[1]}.mp4"
    with pytest.raises(DataError, match=f"video {expected} does not exist"):
        utils.doc_to_visual(rows[-1], kwargs)


def test_rerunning_the_layout_is_idempotent_and_completes_a_cut_short_unpack(snapshots):
    root, out, _found = snapshots
    video = root / "VSI-Bench" / "arkitscenes" / "41069025.mp4"
    size = video.stat().st_size
    video.write_bytes(video.read_bytes()[: size // 2])
    notes = {entry.task: entry.note for entry in write_layout(root, out)}
    assert notes["vsi_bench"].startswith("unpacked 1 of 2 videos") and video.stat().st_size == size
    assert not {entry.task: entry.note for entry in write_layout(root, out)}["vsi_bench"].startswith("unpacked")


def test_image_snapshots_load_with_their_images(snapshots):
    _root, _out, found = snapshots
    for task, expected in (("cvbench_3d", 1), ("blink_multiview", 2), ("mmsibench_pr", 2)):
        rows, kwargs = _rows(found[task].override)
        utils = _utils("mmsibench" if task.startswith("mmsi") else task)
        assert rows and all(len(utils.doc_to_visual(row, kwargs)) == expected for row in rows), task


def test_the_original_dataset_layout_is_found_from_its_parent_and_its_rows_converted(tmp_path):
    dataset = original_dataset(tmp_path)
    found = {entry.task: entry for entry in write_layout(tmp_path, tmp_path / "over")}
    assert {task: entry.layout for task, entry in found.items()} == dict.fromkeys(("vsi_bench", "cvbench_3d", "blink_multiview"), "skill3d-splits")
    vsi, kwargs = _rows(found["vsi_bench"].override)
    assert kwargs["video_root"] == str(dataset)
    source = {row["id"]: row for row in vsi_rows()}
    utils = _utils("vsi_bench")
    for row in vsi:
        check(VsiRow, row, where="converted")
        original = source[row["id"]]
        assert (row["question"], row["options"] or [], row["ground_truth"]) == (original["question"], original["options"], original["ground_truth"])
        # The rows name VSI_videos/ copies that were never made; the snapshot's video is used.
        assert utils.doc_to_visual(row, kwargs) == [str(dataset / "VSI-Bench" / original["dataset"] / f"{original['scene_name']}.mp4")]
    cv, kwargs = _rows(found["cvbench_3d"].override)
    for number, (row, (_idx, task, letter, choices)) in enumerate(zip(cv, ORIGINAL_CV)):
        check(CvBenchRow, row, where="converted")
        # The newer converter numbers 3D rows from 0 in their ids ("CVBench_3D_000001"): that number is the idx.
        assert (row["idx"], row["task"], row["answer"], row["choices"]) == (number, task, f"({letter})", choices)
        assert _utils("cvbench_3d").doc_to_visual(row, kwargs)[0].size == (32, 24)
    assert yaml.safe_load(found["cvbench_3d"].override.read_text())["training_split"] == "train"
    blink, kwargs = _rows(found["blink_multiview"].override)
    for row in blink:
        check(BlinkRow, row, where="converted")
        assert len(_utils("blink_multiview").doc_to_visual(row, kwargs)) == 2


def test_skill3d_splits_finds_the_data_root_from_the_splits_directory(tmp_path, capsys):
    dataset = original_dataset(tmp_path)
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["data", "skill3d-splits", str(dataset / "skill3d_splits"), "--out", str(tmp_path / "a")])
    assert args.run(args) == 0
    assert yaml.safe_load((tmp_path / "a" / "vsi_bench.yaml").read_text())["lmms_eval_specific_kwargs"]["default"]["video_root"] == str(dataset)
    args = parser.parse_args(["data", "layout", str(dataset), "--out", str(tmp_path / "b")])
    assert args.run(args) == 0
    printed = capsys.readouterr().out
    assert "vsi_bench: skill3d-splits" in printed and "--include_path" in printed


def test_an_unrecognised_directory_says_what_was_looked_for(tmp_path):
    (tmp_path / "stuff").mkdir()
    with pytest.raises(DataError, match="no benchmark data recognised: looked for skill3d_splits/"):
        write_layout(tmp_path, tmp_path / "over")


def test_a_dataset_card_names_the_config_split_files(tmp_path):
    (tmp_path / "d").mkdir()
    for name in ("a.parquet", "b-0.parquet", "b-1.parquet", "v.parquet"):
        (tmp_path / "d" / name).touch()
    card = {"configs": [
        {"config_name": "x", "data_files": [{"split": "test", "path": "b-*.parquet"}, {"split": "val", "path": "v.parquet"}]},
        {"config_name": "default", "data_files": "a.parquet"},
    ]}
    (tmp_path / "d" / "README.md").write_text(f"---\n{yaml.safe_dump(card)}---\n# card\n")
    assert [p.name for p in card_data_files(tmp_path / "d", "x", "test")] == ["b-0.parquet", "b-1.parquet"]
    assert [p.name for p in card_data_files(tmp_path / "d", "x", "val")] == ["v.parquet"]
    assert [p.name for p in card_data_files(tmp_path / "d", None, "test")] == ["a.parquet"]
    assert card_data_files(tmp_path / "d", "missing", "test") == []


def test_the_originals_vsi_videos_still_zipped_are_unpacked_before_its_rows_are_resolved(tmp_path):
    dataset = original_dataset(tmp_path)
    vsi = dataset / "VSI-Bench"
    for source in [d for d in vsi.iterdir() if d.is_dir()]:
        with zipfile.ZipFile(vsi / f"{source.name}.zip", "w") as archive:
            for video in source.iterdir():
                archive.write(video, f"{source.name}/{video.name}")
        shutil.rmtree(source)
    found = {entry.task: entry for entry in write_layout(dataset, tmp_path / "over")}
    assert found["vsi_bench"].layout == "skill3d-splits" and found["vsi_bench"].note.startswith("unpacked 2 of 2 videos")
    rows, kwargs = _rows(found["vsi_bench"].override)
    assert all(row["video"].startswith("VSI-Bench/") for row in rows)
    assert all(_utils("vsi_bench").doc_to_visual(row, kwargs)[0].startswith(str(vsi)) for row in rows)
