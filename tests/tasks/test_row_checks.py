"""A malformed row fails in `doc_to_visual` (the skill3d model records it for that question),
never in `doc_to_text` (lmms-eval builds every prompt up front; one exception there aborts the
task), and `process_results` scores it 0 instead of raising."""

from __future__ import annotations

import importlib.util
import io
from types import ModuleType

import datasets
import numpy as np
import pytest
from PIL import Image

from skill3d_eval.data.columns import undecoded_images
from skill3d_eval.data.errors import DataError
from skill3d_eval.settings import TASKS_DIR
from skill3d_eval.synth.video import encode_video


def _utils(task_dir: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{task_dir}_row_check_utils", TASKS_DIR / task_dir / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (9, 9, 9)).save(buffer, "PNG")
    return buffer.getvalue()


GOOD_VSI = {"id": 3, "dataset": "d", "scene_name": "s", "video": "s.mp4", "question_type": "object_rel_distance", "question": "Which?", "options": ["A. x", "B. y"], "ground_truth": "B"}
GOOD_CV = {"idx": 4, "task": "Depth", "prompt": "Which is closer?", "choices": ["a", "b"], "answer": "(A)", "source": "Omni3D", "image": {"bytes": _png(), "path": None}}
GOOD_BLINK = {"idx": "val_5", "sub_task": "Multi-view_Reasoning", "prompt": "Left or right?", "choices": ["left", "right"], "answer": "(B)", "image_1": {"bytes": _png(), "path": None}, "image_2": None}
GOOD_MMSI = {"id": 6, "question_type": "MSR", "question": "Where?\nOptions: A: x, B: y", "answer": "A", "images": [{"bytes": _png(), "path": None}]}

CASES = [
    # task dir, good row, field to break, bad value, fragment of the error
    ("spatial_synth", GOOD_VSI, "question_type", "object_teleport", "'object_teleport' is not valid"),
    ("spatial_synth", GOOD_VSI, "options", None, "needs options"),
    ("spatial_synth", GOOD_VSI, "ground_truth", "Q", "none of the options' letters"),
    ("spatial_synth", GOOD_VSI, "question", None, "question: None"),
    ("cvbench_3d", GOOD_CV, "answer", "(C)", "answer '(C)' is not one of"),
    ("cvbench_3d", GOOD_CV, "task", "Height", "task: 'Height'"),
    ("cvbench_3d", GOOD_CV, "choices", None, "choices: None"),
    ("blink_multiview", GOOD_BLINK, "prompt", None, "prompt: None"),
    ("mmsibench", GOOD_MMSI, "question_type", "Teleport (Obj.)", "unknown question_type 'Teleport (Obj.)'"),
    ("mmsibench", GOOD_MMSI, "answer", "Z", "answer: 'Z'"),
    ("mmsibench", GOOD_MMSI, "images", [], "images: []"),
]


@pytest.mark.parametrize(("task_dir", "good", "field", "value", "fragment"), CASES)
def test_a_malformed_row_fails_in_doc_to_visual_only(task_dir, good, field, value, fragment, tmp_path):
    utils = _utils(task_dir)
    encode_video([np.zeros((16, 16, 3), np.uint8)] * 2, tmp_path / "s.mp4")  # spatial_synth's rows name a video
    kwargs = {"video_root": str(tmp_path)}
    assert utils.doc_to_visual(dict(good), kwargs)  # the good row loads
    bad = {**good, field: value}
    assert isinstance(utils.doc_to_text(bad, {}), str)
    with pytest.raises(DataError, match="malformed row") as raised:
        utils.doc_to_visual(bad, kwargs)
    identifier = str(good.get("id", good.get("idx")))
    assert f"row {identifier}" in str(raised.value) and fragment in str(raised.value)
    emitted = utils.process_results(bad, ["A"])
    assert all(item["score"] == 0.0 for item in emitted.values())


def test_image_columns_are_left_undecoded_also_inside_lists(tmp_path):
    features = datasets.Features({"image": datasets.Image(), "frames": datasets.List(datasets.Image()), "n": datasets.Value("int32")})
    row = {"image": {"bytes": None, "path": str(tmp_path / "never-opened.png")}, "frames": [{"bytes": _png(), "path": None}], "n": 1}
    dataset = undecoded_images(datasets.Dataset.from_dict({k: [v] for k, v in row.items()}, features=features))
    stored = dataset[0]
    assert stored["image"] == {"bytes": None, "path": str(tmp_path / "never-opened.png")}
    assert stored["frames"][0]["bytes"] == _png() and stored["n"] == 1
