"""Generator v0.2's additions on a written dataset: row order, frame-question subsets in their
benchmarks' schemas, offline loading, and the consistency check over every new answer."""

import json
import shutil

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from skill3d_experts.oracle_store import OracleStore

from skill3d_eval.synth import check_dataset
from skill3d_eval.synth.questions import FIRST_TYPES
from skill3d_eval.synth.schema import read_split
from skill3d_eval.synth.view_schema import FEATURES


def _rewrite_column(path, column, change):
    table = pq.read_table(path)
    values = table.column(column).to_pylist()
    index = change(values)
    position = table.column_names.index(column)
    pq.write_table(table.set_column(position, table.schema.field(position), pa.array(values)), path)
    return table, index


def test_first_generator_types_come_first_in_each_split(small_dataset):
    for split in ("train", "test"):
        types = pq.read_table(small_dataset / "data" / f"{split}.parquet").column("question_type").to_pylist()
        first = [t in FIRST_TYPES for t in types]
        assert first == sorted(first, reverse=True) and any(first)
        assert not all(first)  # the later types are there too


def test_subsets_load_offline_in_their_schemas_and_show_oracle_frames(small_dataset):
    meta = json.loads((small_dataset / "meta.json").read_text())
    oracle = OracleStore(small_dataset / "oracle")
    for benchmark in ("cv3d", "blink", "mmsi"):
        # `datasets` cannot load a split with no rows, so only the written non-empty ones.
        counts = {split: sum(meta["view_counts"][benchmark][split].values()) for split in ("train", "test")}
        files = {split: str(small_dataset / "data" / f"{benchmark}_{split}.parquet") for split, n in counts.items() if n}
        loaded = datasets.load_dataset("parquet", data_files=files)
        assert loaded["train"].features == FEATURES[benchmark]
        total = sum(len(loaded[split]) for split in files)
        assert total == sum(sum(by_kind.values()) for by_kind in meta["view_counts"][benchmark].values()) > 0
        row = loaded["train"][0]
        images = {"cv3d": lambda r: [r["image"]], "blink": lambda r: [r["image_1"], r["image_2"]], "mmsi": lambda r: r["images"]}[benchmark](row)
        for frame_index, image in zip(row["frame_indices"], images, strict=True):
            pixels = np.asarray(image.convert("RGB")) if hasattr(image, "convert") else _decode(image)
            truth = oracle.get(pixels)
            assert (truth.scene, truth.frame_index) == (row["scene_name"], frame_index)


def _decode(data):
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_check_dataset_recomputes_multiple_choice_and_subset_answers(small_dataset, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(small_dataset, broken)

    def flip_letter(values):
        index = next(i for i, v in enumerate(values) if v in ("A", "B", "C", "D"))
        values[index] = "B" if values[index] == "A" else "A"
        return index

    # The VSI split with a multiple-choice row (a 3-scene dataset may have none in one split).
    split = next(s for s in ("train", "test") if {"A", "B", "C", "D"} & set(read_split(broken / "data" / f"{s}.parquet").column("ground_truth").to_pylist()))
    table, index = _rewrite_column(broken / "data" / f"{split}.parquet", "ground_truth", flip_letter)
    bad_id = table.column("id")[index].as_py()
    _rewrite_column(broken / "data" / "mmsi_train.parquet", "answer", flip_letter)

    def flip_paren(values):
        values[0] = "(B)" if values[0] == "(A)" else "(A)"
        return 0

    _rewrite_column(broken / "data" / "blink_train.parquet", "answer", flip_paren)
    problems = check_dataset(broken)
    assert len(problems) == 3, problems
    assert any(f"{split} id {bad_id} " in p and "recomputed" in p for p in problems), problems
    assert any(p.startswith("mmsi_train") and "recomputed" in p for p in problems)
    assert any(p.startswith("blink_train") and "recomputed" in p for p in problems)


def test_check_dataset_catches_a_subset_image_from_the_wrong_frame(small_dataset, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(small_dataset, broken)

    def shift_frame(values):
        values[0] = [(values[0][0] + 1) % 4]
        return 0

    _rewrite_column(broken / "data" / "cv3d_train.parquet", "frame_indices", shift_frame)
    problems = check_dataset(broken)
    assert any(p.startswith("cv3d_train") and "in the oracle store" in p for p in problems), problems
