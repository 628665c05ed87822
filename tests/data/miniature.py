"""Each documented data layout in miniature: a few rows, tiny mp4 videos (PyAV) and PNGs.

- `hf_snapshots(root)`: what `huggingface-cli download --repo-type dataset REPO --local-dir X`
  leaves for VSI-Bench (questions parquet + a README card naming it, videos in per-source zips),
  CV-Bench (`test_3d.parquet`, images embedded), BLINK (`Multi-view_Reasoning/val-*.parquet`) and
  MMSI-Bench (`MMSI_Bench.parquet`).
- `original_dataset(root)`: the original system's `dataset/` with `skill3d_splits/*.jsonl` in its
  conversation form (written as its converters write them), media paths relative to `dataset/`.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import datasets

from tests.fixtures.build import VSI_ROWS, build_blink_multiview, build_cvbench_3d, build_mmsibench, make_image, write_video

# VSI rows of the snapshot: fixture rows 0, 1, 5, 6 (arkitscenes and scannet scenes) and one
# scannetpp row whose archive the snapshot lacks: its question must fail, naming the path.
MISSING_SCENE = ("scannetpp", "0a5c013435")
VSI_IDS = (0, 1, 5, 6)  # two counting rows: chance_random learns numbers from a type's other rows
CARD = """---
configs:
- config_name: full
  data_files:
  - split: test
    path: questions/full.parquet
- config_name: debiased
  data_files:
  - split: test
    path: test_debiased.parquet
---
# VSI-Bench (miniature)
"""


def vsi_rows() -> list[dict]:
    columns = ("id", "dataset", "scene_name", "question_type", "question", "options", "ground_truth")
    rows = [dict(zip(columns, row)) for row in VSI_ROWS if row[0] in VSI_IDS]
    rows.append({**rows[0], "id": 99, "dataset": MISSING_SCENE[0], "scene_name": MISSING_SCENE[1]})
    return rows


def vsi_snapshot(directory: Path) -> Path:
    """Questions where the card says (a decoy `test_debiased.parquet` beside it), videos zipped per source."""
    rows = vsi_rows()
    (directory / "questions").mkdir(parents=True)
    features = datasets.Features(
        {
            "id": datasets.Value("int64"), "dataset": datasets.Value("string"), "scene_name": datasets.Value("string"),
            "question_type": datasets.Value("string"), "question": datasets.Value("string"),
            "options": datasets.List(datasets.Value("string")), "ground_truth": datasets.Value("string"),
        }
    )
    datasets.Dataset.from_list(rows, features=features).to_parquet(directory / "questions" / "full.parquet")
    datasets.Dataset.from_list(rows[:1], features=features).to_parquet(directory / "test_debiased.parquet")
    (directory / "README.md").write_text(CARD)
    staging = directory.parent / f".{directory.name}-videos"
    for source in ("arkitscenes", "scannet"):
        with zipfile.ZipFile(directory / f"{source}.zip", "w") as archive:
            for scene in sorted({row["scene_name"] for row in rows if row["dataset"] == source}):
                write_video(staging / source / f"{scene}.mp4")
                archive.write(staging / source / f"{scene}.mp4", f"{source}/{scene}.mp4")
    shutil.rmtree(staging)
    return directory


def hf_snapshots(root: Path) -> Path:
    """One directory holding the four benchmarks' snapshots under their repository names."""
    scratch = root / ".build"
    vsi_snapshot(root / "VSI-Bench")
    (root / "CV-Bench").mkdir(parents=True)
    shutil.move(build_cvbench_3d(_fresh(scratch)) / "test.parquet", root / "CV-Bench" / "test_3d.parquet")
    (root / "BLINK" / "Multi-view_Reasoning").mkdir(parents=True)
    shutil.move(build_blink_multiview(_fresh(scratch)) / "val.parquet", root / "BLINK" / "Multi-view_Reasoning" / "val-00000-of-00001.parquet")
    (root / "MMSI-Bench").mkdir(parents=True)
    shutil.move(build_mmsibench(_fresh(scratch)) / "test.parquet", root / "MMSI-Bench" / "MMSI_Bench.parquet")
    shutil.rmtree(scratch)
    return root


def _fresh(scratch: Path) -> Path:
    for name in ("cvbench_3d", "blink_multiview", "mmsibench"):
        (scratch / name).mkdir(parents=True, exist_ok=True)
    return scratch


def _conversation(question: str, answer: str) -> list[dict]:
    return [{"from": "human", "value": question}, {"from": "gpt", "value": answer}]


ORIGINAL_CV = [
    # idx, task, answer letter, choices
    (1438, "Depth", "A", ["lamp", "chair"]),
    (1439, "Distance", "B", ["bed", "tv"]),
]
ORIGINAL_BLINK = [("val_Multi-view_Reasoning_7", "B"), ("val_Multi-view_Reasoning_8", "A")]


def original_dataset(root: Path, *, with_vsi: bool = True) -> Path:
    """`root/dataset/`: skill3d_splits in the original's conversation form, media as it keeps them.
    VSI rows name `VSI_videos/<dataset>_<scene>.mp4` copies that were never made: the videos are
    found in `VSI-Bench/<dataset>/<scene>.mp4`."""
    dataset = root / "dataset"
    splits = dataset / "skill3d_splits"
    splits.mkdir(parents=True)
    cv_lines = []
    for number, (idx, task, letter, choices) in enumerate(ORIGINAL_CV):
        image = f"CVBench/3D/{number:06d}.png"
        (dataset / image).parent.mkdir(parents=True, exist_ok=True)
        make_image(idx).save(dataset / image)
        prompt = f"Original CV row {idx}: which is closer? Select from the following choices.\n" + "\n".join(
            f"({chr(65 + i)}) {c}" for i, c in enumerate(choices)
        )
        cv_lines.append({
            "id": f"CVBench_3D_{number:06d}", "image": [image], "video": [], "conversations": _conversation(prompt, letter),
            "task": task, "input_type": "image", "output_type": "MCQ", "data_source": "CVBench", "sub_task": "",
            "others": {"type": "3D", "choices": choices, "source": "Omni3D"},
        })
    blink_lines = []
    for number, (idx, letter) in enumerate(ORIGINAL_BLINK):
        images = [f"BLINK/{idx}_{view}.png" for view in (1, 2)]
        for view, image in enumerate(images):
            (dataset / image).parent.mkdir(parents=True, exist_ok=True)
            make_image(50 + 2 * number + view).save(dataset / image)
        prompt = f"Original BLINK row {idx}: is the camera moving left or right?\nSelect from the following choices.\n(A) left\n(B) right"
        blink_lines.append({
            "id": idx, "image": images, "video": [], "conversations": _conversation(prompt, letter),
            "task": "Multi-view_Reasoning", "input_type": "image", "output_type": "MCQ", "data_source": "BLINK", "sub_task": "",
        })
    _write_jsonl(splits / "cv3d_test.jsonl", cv_lines)
    _write_jsonl(splits / "cv3d_train.jsonl", cv_lines[:1])
    _write_jsonl(splits / "blink_multiview_test.jsonl", blink_lines)
    if with_vsi:
        vsi_lines = []
        for row in (vsi_rows()[0], vsi_rows()[2]):
            write_video(dataset / "VSI-Bench" / row["dataset"] / f"{row['scene_name']}.mp4")
            question = row["question"]
            if row["options"]:
                question += "\nSelect from the following choices.\n" + "".join(f"({chr(65 + i)}) {o}\n" for i, o in enumerate(row["options"]))
            vsi_lines.append({
                "id": f"VSIBench_{row['id']}", "image": [], "video": [f"VSI_videos/{row['dataset']}_{row['scene_name']}.mp4"],
                "conversations": _conversation(question, row["ground_truth"]), "task": row["question_type"],
                "input_type": "video", "output_type": "MCQ" if row["options"] else "Number", "data_source": "VSI-Bench", "others": {}, "subtask": "",
            })
        _write_jsonl(splits / "vsi_test.jsonl", vsi_lines)
    return dataset


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows))


def mixed_dataset(root: Path) -> Path:
    """The original's `dataset/` as a user may have it: its splits for CV-Bench and BLINK, and
    Hugging Face snapshots (VSI-Bench's videos still zipped, MMSI-Bench) for the rest."""
    dataset = original_dataset(root, with_vsi=False)
    vsi_snapshot(dataset / "VSI-Bench")
    (dataset / "MMSI-Bench").mkdir()
    scratch = root / ".build"
    shutil.move(build_mmsibench(_fresh(scratch)) / "test.parquet", dataset / "MMSI-Bench" / "MMSI_Bench.parquet")
    shutil.rmtree(scratch)
    return dataset
