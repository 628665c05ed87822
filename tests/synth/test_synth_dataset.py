"""The written dataset: schema, determinism, splits, HF round trip, oracle lookup, self-check."""

import json
import shutil

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from skill3d_experts.oracle_store import OracleStore, frame_key

from skill3d_eval.synth import check_dataset, load_scene
from skill3d_eval.synth.generate import generate
from skill3d_eval.synth.render import render_view
from skill3d_eval.synth.schema import COLUMNS
from skill3d_eval.synth.video import decode_video
from skill3d_eval.synth.vsi_questions import CHOICE_TYPES


def _tables(root):
    return {split: pq.read_table(root / "data" / f"{split}.parquet") for split in ("train", "test")}


def test_parquet_has_the_vsi_bench_columns_in_order(small_dataset, small_args):
    for table in _tables(small_dataset).values():
        assert tuple(table.column_names) == COLUMNS
        assert table.schema.field("id").type == pa.int64()
        assert table.schema.field("options").type == pa.list_(pa.string())
        rows = table.to_pylist()
        assert rows and all(row["dataset"] == "spatial_synth" for row in rows)
        for row in rows:
            if row["question_type"] in CHOICE_TYPES:
                assert row["options"][0].startswith("A. ") and row["ground_truth"] in "ABCD"[: len(row["options"])]
            else:
                assert row["options"] == []
        # As VSI-Bench's rows: the scene's video, by name and by path under the dataset root.
        for row in rows:
            assert row["video"] == f"videos/{row['scene_name']}.mp4"
            assert (small_dataset / row["video"]).is_file()


def test_same_seed_reproduces_rows_and_pixels_and_another_seed_does_not(small_dataset, small_args, tmp_path):
    generate(tmp_path / "again", seed=0, workers=2, **small_args)  # scenes built in two processes
    generate(tmp_path / "other", seed=1, **small_args)
    same, first = _tables(tmp_path / "again"), _tables(small_dataset)
    for split in ("train", "test"):
        assert same[split].equals(first[split])
    assert (tmp_path / "again" / "meta.json").read_text() == (small_dataset / "meta.json").read_text()
    # Videos are encoded deterministically: the same bytes, so the same oracle keys.
    videos = sorted(p.name for p in (small_dataset / "videos").iterdir())
    assert videos == [f"synth_{i:04d}.mp4" for i in range(small_args["scenes"])]
    for name in videos:
        assert (tmp_path / "again" / "videos" / name).read_bytes() == (small_dataset / "videos" / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "again" / "oracle").rglob("*.npz")) == sorted(
        p.name for p in (small_dataset / "oracle").rglob("*.npz")
    )
    first_frames = {frame_key(f) for name in videos for f in decode_video(small_dataset / "videos" / name, small_args["frames"])}
    other_frames = {frame_key(f) for name in videos for f in decode_video(tmp_path / "other" / "videos" / name, small_args["frames"])}
    assert first_frames.isdisjoint(other_frames)
    assert load_scene(tmp_path / "other" / "scenes" / "synth_0000.json") != load_scene(
        small_dataset / "scenes" / "synth_0000.json"
    )


def test_splits_are_disjoint_by_scene_and_ids_unique(small_dataset, small_args):
    meta = json.loads((small_dataset / "meta.json").read_text())
    tables = _tables(small_dataset)
    scenes = {split: set(tables[split].column("scene_name").to_pylist()) for split in tables}
    assert scenes["train"] == set(meta["train_scenes"]) and scenes["test"] == set(meta["test_scenes"])
    assert scenes["train"].isdisjoint(scenes["test"])
    assert scenes["train"] | scenes["test"] == {f"synth_{i:04d}" for i in range(small_args["scenes"])}
    assert (len(scenes["train"]), len(scenes["test"])) == (2, 1)
    ids = [i for t in tables.values() for i in t.column("id").to_pylist()]
    assert len(ids) == len(set(ids))


def test_every_decoded_video_frame_has_its_rendered_truth_in_the_oracle(small_dataset, tmp_path):
    """Loaded offline as users load it; the video decoded as the evaluator decodes it: each frame
    is close to the rendered one (H.264 at CRF 18) and keyed to the renderer's exact truth."""
    loaded = datasets.load_dataset(
        "parquet",
        data_files={split: str(small_dataset / "data" / f"{split}.parquet") for split in ("train", "test")},
        cache_dir=str(tmp_path / "hf"),
    )
    oracle = OracleStore(small_dataset / "oracle")
    row = loaded["test"][0]
    scene = load_scene(small_dataset / "scenes" / f"{row['scene_name']}.json")
    frames = decode_video(small_dataset / row["video"], len(scene.cameras))
    for index, (pixels, camera) in enumerate(zip(frames, scene.cameras, strict=True)):
        rendered = render_view(scene.room, scene.objects, camera, *scene.image_size)
        assert pixels.shape == rendered.rgb.shape
        assert np.abs(pixels.astype(int) - rendered.rgb).mean() < 4
        truth = oracle.get(pixels)
        assert (truth.scene, truth.frame_index) == (scene.name, index)
        assert np.array_equal(truth.instances, rendered.instances)
        assert np.array_equal(truth.depth, rendered.depth)
        assert truth.labels == scene.labels


def test_check_dataset_is_clean_and_catches_a_wrong_answer(small_dataset, tmp_path):
    assert check_dataset(small_dataset) == []
    broken = tmp_path / "broken"
    shutil.copytree(small_dataset, broken)
    path = broken / "data" / "train.parquet"
    table = pq.read_table(path)
    answers = table.column("ground_truth").to_pylist()
    answers[2] = str(int(float(answers[2])) + 7)
    index = table.column_names.index("ground_truth")
    pq.write_table(table.set_column(index, table.schema.field(index), pa.array(answers)), path)
    problems = check_dataset(broken)
    bad_id = table.column("id")[2].as_py()
    assert len(problems) == 1 and f"id {bad_id} " in problems[0] and "ground_truth" in problems[0]


def test_check_dataset_catches_missing_frame_truth_and_unfinished_runs(small_dataset, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(small_dataset, broken)
    next(p for p in (broken / "oracle").rglob("*.npz")).unlink()
    assert any("not in the oracle store" in problem for problem in check_dataset(broken))
    video = next((broken / "videos").iterdir())
    video.unlink()
    assert any(video.stem in problem and "video" in problem for problem in check_dataset(broken))
    (broken / "meta.json").unlink()
    assert check_dataset(broken) == [f"{broken}: no meta.json (not a dataset, or its generation did not finish)"]


def test_an_interrupted_run_leaves_the_previous_dataset_untouched(small_dataset, small_args, tmp_path, monkeypatch):
    out = tmp_path / "data"
    shutil.copytree(small_dataset, out)
    before = (out / "meta.json").read_text()

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("skill3d_eval.synth.generate.write_split", fail)
    with pytest.raises(KeyboardInterrupt):
        generate(out, seed=5, **small_args)
    assert (out / "meta.json").read_text() == before
    assert check_dataset(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # the staging copy is gone


def test_generate_replaces_a_dataset_but_not_other_directories(small_dataset, small_args, tmp_path):
    out = tmp_path / "data"
    shutil.copytree(small_dataset, out)
    summary = generate(out, seed=0, **{**small_args, "scenes": 2})
    assert summary.rows["train"] + summary.rows["test"] == sum(t.num_rows for t in _tables(out).values())
    assert sorted(p.name for p in (out / "scenes").iterdir()) == ["synth_0000.json", "synth_0001.json"]
    # A scene does not depend on how many scenes were asked for.
    assert (out / "scenes" / "synth_0001.json").read_text() == (
        small_dataset / "scenes" / "synth_0001.json"
    ).read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no staging leftovers
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        generate(other, **small_args)
    assert (other / "keep.txt").read_text() == "mine"


def test_check_dataset_catches_a_scene_file_that_no_longer_matches_the_pixels(small_dataset, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(small_dataset, broken)
    path = broken / "scenes" / "synth_0000.json"
    data = json.loads(path.read_text())
    data["objects"][0]["center"][0] += 0.05  # 5 cm along x
    path.write_text(json.dumps(data))
    problems = check_dataset(broken)
    assert problems and all("synth_0000" in problem for problem in problems)
    assert any("back-project outside its parts" in problem for problem in problems)
