"""Hostile data through the stock `lmms-eval` CLI: rows pointing outside their media root,
truncated media, an oversized image and malformed rows each cost their own row only — recorded
with an error naming row and path, scored wrong — and the LLM endpoint never sees their bytes.

One run covers a video benchmark (vsi_bench, media by path under `--video-root`) and an image
benchmark (cvbench_3d, images as bytes and as paths under `--image-root`); a second run with the
oversized image replaced measures what refusing it cost in peak memory.
"""

from __future__ import annotations

import base64
import io
import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import av
import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from skill3d_eval.data import write_local_task
from skill3d_eval.evaluate import lmms_eval_command
from skill3d_eval.outcome import EXIT_FAILED_QUESTIONS
from skill3d_eval.trajectory_log import read_trajectories
from tests.support.scripted_llm import ScriptedLLM, answer

pytestmark = pytest.mark.integration

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
SECRET_RGB = (255, 0, 0)  # what every outside file looks like; legitimate media are grey
COUNTING = "How many chair(s) are in this room?"
DIRECTION = "If I am standing by the sofa and facing the tv, is the lamp to the left or the right of the tv?"


def _video(path: Path, rgb: tuple[int, int, int], frames: int = 4) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=2)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        for _ in range(frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.full((24, 32, 3), rgb, dtype=np.uint8), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _png(rgb=(128, 128, 128), size=(32, 24), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, rgb if mode == "RGB" else 0).save(buffer, "PNG")
    return buffer.getvalue()


# vsi_bench rows: (id, video column, question_type, question); ids 0 and 1 are the good ones.
VSI_ROWS = [
    (0, "scannet/good.mp4", "object_counting", COUNTING),
    (1, None, "object_rel_direction_easy", DIRECTION),  # found by dataset/scene_name
    (2, "../../outside/secret.mp4", "object_counting", "Q2 dot-dot"),
    (3, "ABSOLUTE", "object_counting", "Q3 absolute"),
    (4, "scannet/linked.mp4", "object_counting", "Q4 symlink"),
    (5, "scannet/cut.mp4", "object_counting", "Q5 truncated"),
    (6, "scannet/good.mp4", "object_teleport", "Q6 unknown type"),
]
# cvbench_3d rows: (idx, image, answer, prompt); 0 and 1 are good.
CV_GOOD = ("Which object is closer to the camera, the lamp or the chair?", "Which object is closer to the camera, the sofa or the bed?")


@dataclass
class Hostile:
    root: Path
    overrides: Path
    small_overrides: Path  # the same, with the oversized image replaced by a small one
    secret_video: Path


def _vsi(root: Path, outside: Path) -> Path:
    videos = root / "vsi" / "videos"
    _video(videos / "scannet" / "good.mp4", (128, 128, 128))
    _video(videos / "scannet" / "scene0011_00.mp4", (96, 96, 96))
    (videos / "scannet" / "linked.mp4").symlink_to(outside / "secret.mp4")
    whole = (videos / "scannet" / "good.mp4").read_bytes()
    (videos / "scannet" / "cut.mp4").write_bytes(whole[: len(whole) * 6 // 10])
    rows = {
        "id": [row[0] for row in VSI_ROWS],
        "dataset": ["scannet"] * len(VSI_ROWS),
        "scene_name": ["scene0011_00"] * len(VSI_ROWS),
        "question_type": [row[2] for row in VSI_ROWS],
        "question": [row[3] for row in VSI_ROWS],
        "options": [["A. left", "B. right"] if row[2] == "object_rel_direction_easy" else [] for row in VSI_ROWS],
        "ground_truth": ["A" if row[2] == "object_rel_direction_easy" else "2" for row in VSI_ROWS],
        "video": [str(outside / "secret.mp4") if row[1] == "ABSOLUTE" else row[1] for row in VSI_ROWS],
    }
    path = root / "vsi" / "test.parquet"
    datasets.Dataset.from_dict(rows).to_parquet(path)
    return path


def _cvbench(root: Path, outside: Path, *, huge: bool) -> Path:
    images = root / "cv" / "images"
    images.mkdir(parents=True, exist_ok=True)
    (images / "good.png").write_bytes(_png())
    whole = _png((120, 130, 140), size=(64, 48))
    noisy = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(noisy, "PNG")
    noisy = noisy.getvalue()
    oversized = _png(size=(12000, 12000), mode="1") if huge else _png()
    cases = [
        ({"bytes": whole, "path": None}, "(A)", CV_GOOD[0]),
        ({"bytes": None, "path": "good.png"}, "(B)", CV_GOOD[1]),
        ({"bytes": noisy[: len(noisy) // 2], "path": None}, "(A)", "Q12 truncated png"),
        ({"bytes": oversized, "path": None}, "(A)", "Q13 oversized png"),
        ({"bytes": None, "path": "../../../outside/secret.png"}, "(A)", "Q14 dot-dot png"),
        ({"bytes": whole, "path": None}, "(Z)", "Q15 answer is no choice"),
    ]
    rows = {
        "idx": list(range(10, 10 + len(cases))),
        "type": ["3D"] * len(cases),
        "task": ["Depth"] * len(cases),
        "image": [case[0] for case in cases],
        "question": [case[2] for case in cases],
        "choices": [["lamp", "chair"]] * len(cases),
        "answer": [case[1] for case in cases],
        "prompt": [case[2] + "\n(A) lamp\n(B) chair" for case in cases],
        "source": ["Omni3D"] * len(cases),
    }
    features = datasets.Features(
        {
            "idx": datasets.Value("int32"),
            "type": datasets.Value("string"),
            "task": datasets.Value("string"),
            "image": datasets.Image(),
            "question": datasets.Value("string"),
            "choices": datasets.List(datasets.Value("string")),
            "answer": datasets.Value("string"),
            "prompt": datasets.Value("string"),
            "source": datasets.Value("string"),
        }
    )
    path = root / ("cv" if huge else "cv_small") / "test.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written with pyarrow: `to_parquet` would stat the path-only images relative to the cwd.
    pq.write_table(datasets.Dataset.from_dict(rows, features=features).data.table, path)
    return path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Hostile:
    root = tmp_path_factory.mktemp("hostile")
    outside = root / "outside"
    _video(outside / "secret.mp4", SECRET_RGB)
    (outside / "secret.png").write_bytes(_png(SECRET_RGB))
    vsi = _vsi(root, outside)
    overrides, small = root / "overrides", root / "overrides_small"
    for out, huge in ((overrides, True), (small, False)):
        write_local_task("vsi_bench", vsi, out, video_root=root / "vsi" / "videos")
        write_local_task("cvbench_3d", _cvbench(root, outside, huge=huge), out, image_root=root / "cv" / "images")
    return Hostile(root, overrides, small, outside / "secret.mp4")


def _reply(messages):
    return answer("A" if "(A)" in messages[1]["content"][-1]["text"] or "Options" in messages[1]["content"][-1]["text"] else "2")


def _run(include_path: Path, out: Path) -> tuple[subprocess.CompletedProcess, int, list[dict]]:
    """The CLI run, its own peak RSS in bytes (from `wait4` on that process) and the requests."""
    out.mkdir(parents=True, exist_ok=True)
    with ScriptedLLM(_reply) as llm:
        model_args = {"policy": "direct", "base_url": llm.base_url, "api_key": "k", "model": "scripted", "output_dir": out / "runs", "run_name": "hostile"}
        command = lmms_eval_command(["vsi_bench", "cvbench_3d"], model_args, out / "results", extra=["--include_path", str(include_path)])
        with (out / "stdout").open("w") as stdout, (out / "stderr").open("w") as stderr:
            process = subprocess.Popen(command, env=ENV, stdout=stdout, stderr=stderr)
            killer = threading.Timer(300, process.kill)
            killer.start()
            _, status, usage = os.wait4(process.pid, 0)
            killer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        requests = list(llm.requests)
    completed = subprocess.CompletedProcess(command, process.returncode, (out / "stdout").read_text(), (out / "stderr").read_text())
    return completed, usage.ru_maxrss * 1024, requests


def _images(request: dict) -> list[np.ndarray]:
    found = []
    for part in request["messages"][1]["content"]:
        if part.get("type") == "image_url":
            data = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
            found.append(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
    return found


def _errors(out: Path) -> dict[str, str]:
    """Recorded error per question text, from the run's trajectories."""
    return {t.question: t.error or "" for t in read_trajectories(out / "runs" / "hostile" / "trajectories.jsonl") if t.stop_reason == "error"}


def test_hostile_rows_cost_only_themselves_and_never_reach_the_model(hostile, tmp_path):
    completed, peak, requests = _run(hostile.overrides, tmp_path / "hostile")
    log = completed.stderr[-4000:]
    # 9 of 13 questions failed: far above max_failed_fraction, so the run says so, after writing results.
    assert completed.returncode == EXIT_FAILED_QUESTIONS, log
    assert "9 of 13 questions failed" in log
    results = next((tmp_path / "hostile" / "results").rglob("*_results.json"))
    assert results.is_file()

    asked = [request["messages"][1]["content"][-1]["text"] for request in requests]
    assert len(asked) == 4 and all(any(q in text for q in (COUNTING, DIRECTION, *CV_GOOD)) for text in asked), asked
    for request in requests:
        for image in _images(request):
            assert not (image[..., 0] > 200).any() or (image[..., 1] > 100).all(), "a red (outside) frame reached the endpoint"

    errors = _errors(tmp_path / "hostile")
    def error_of(fragment: str) -> str:
        found = [error for question, error in errors.items() if fragment in question]
        assert len(found) == 1, (fragment, errors)
        return found[0]

    assert "vsi_bench row 2" in error_of("Q2 dot-dot") and "'../../outside/secret.mp4' leaves the media root" in error_of("Q2 dot-dot")
    assert "vsi_bench row 3" in error_of("Q3 absolute") and "is absolute" in error_of("Q3 absolute")
    assert "vsi_bench row 4" in error_of("Q4 symlink") and "symbolic link out of the media root" in error_of("Q4 symlink")
    assert "cut.mp4" in error_of("Q5 truncated") and "truncated" in error_of("Q5 truncated")
    assert "vsi_bench row 6" in error_of("Q6 unknown type") and "object_teleport" in error_of("Q6 unknown type")
    assert "cvbench_3d row 12" in error_of("Q12 truncated png") and "truncated" in error_of("Q12 truncated png")
    assert "12000x12000 exceeds max_frame_pixels" in error_of("Q13 oversized png")
    assert "'../../../outside/secret.png' leaves the media root" in error_of("Q14 dot-dot png")
    assert "cvbench_3d row 15" in error_of("Q15 answer") and "answer '(Z)'" in error_of("Q15 answer")

    # The oversized image was refused from its header: the same run with a small image in its
    # place peaks within 100 MB (decoding 12000x12000 to RGB alone would take 432 MB).
    _, small_peak, _ = _run(hostile.small_overrides, tmp_path / "small")
    assert peak - small_peak < 100e6, (peak, small_peak)
