"""Real benchmarks through the stock `lmms-eval` CLI without a Triton URL: the harness refuses
before the first question when it has no real experts to offer (the oracle backends know only
spatial_synth's frames), and with `experts_checkpoints=DIR` it serves those checkpoints as
`real` backends on its own server, which answers every request the program policy's tools send."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import av
import datasets
import numpy as np
import pytest

from skill3d_eval.data import write_local_task
from skill3d_eval.evaluate import lmms_eval_command
from skill3d_eval.experts import EXPERT_MODELS
from skill3d_eval.outcome import EXIT_FAILED_QUESTIONS, EXIT_PREFLIGHT
from skill3d_eval.testing.tiny_experts import tiny_checkpoints
from skill3d_eval.testing.tool_probe import TINY_DETECTION_PARAMETERS
from skill3d_eval.trajectory_log import read_trajectories

pytestmark = pytest.mark.integration

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
QUESTIONS = [
    ("object_counting", "How many chair(s) are in this room?", "2"),
    ("object_abs_distance", "Measuring from the closest point of each object, what is the direct distance between the chair and the table (in meters)?", "1.5"),
    ("object_counting", "How many table(s) are in this room?", "1"),
]


def _room_video(path: Path, frames: int = 6) -> None:
    """A 256x192 camera sweep over a textured room-like gradient with two dark blocks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=2)
        stream.width, stream.height, stream.pix_fmt = 256, 192, "yuv420p"
        for index in range(frames):
            frame = np.linspace(60, 200, 256, dtype=np.float32)[None, :, None].repeat(192, 0).repeat(3, 2)
            frame[110:170, 40 + 8 * index : 100 + 8 * index] = (120, 60, 30)
            frame[90:150, 150:230] = (40, 40, 90)
            frame += rng.normal(0, 4, frame.shape)
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.clip(frame, 0, 255).astype(np.uint8), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


@pytest.fixture(scope="module")
def vsi_task(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("vsi_real")
    _room_video(root / "videos" / "scannet" / "scene0000_00.mp4")
    rows = {
        "id": list(range(len(QUESTIONS))),
        "dataset": ["scannet"] * len(QUESTIONS),
        "scene_name": ["scene0000_00"] * len(QUESTIONS),
        "question_type": [q[0] for q in QUESTIONS],
        "question": [q[1] for q in QUESTIONS],
        "options": [[] for _ in QUESTIONS],
        "ground_truth": [q[2] for q in QUESTIONS],
        "video": ["scannet/scene0000_00.mp4"] * len(QUESTIONS),
    }
    datasets.Dataset.from_dict(rows).to_parquet(root / "test.parquet")
    return write_local_task("vsi_bench", root / "test.parquet", root / "tasks", video_root=root / "videos").parent


def _run(include_path: Path, model_args: dict, out: Path) -> subprocess.CompletedProcess:
    command = lmms_eval_command(["vsi_bench"], model_args, out / "results", extra=["--include_path", str(include_path)])
    return subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=600, check=False)


def test_a_real_benchmark_without_real_experts_is_refused_before_any_question(vsi_task, tmp_path):
    completed = _run(vsi_task, {"policy": "program", "output_dir": tmp_path / "runs", "run_name": "refused"}, tmp_path)
    assert completed.returncode == EXIT_PREFLIGHT, completed.stderr[-3000:]
    reason = [line for line in completed.stderr.splitlines() if line.startswith("skill3d: ")][-1]
    assert "vsi_bench need real experts" in reason and "experts_checkpoints=DIR" in reason and "triton_url" in reason
    assert not (tmp_path / "runs" / "refused" / "trajectories.jsonl").exists()

    partial = tmp_path / "partial"
    (partial / "depth").mkdir(parents=True)
    completed = _run(vsi_task, {"policy": "program", "output_dir": tmp_path / "runs", "experts_checkpoints": partial}, tmp_path)
    assert completed.returncode == EXIT_PREFLIGHT, completed.stderr[-3000:]
    assert "experts_checkpoints has none for detection, orientation, reconstruction, segmentation, super_resolution" in completed.stderr


def test_program_policy_on_tiny_real_checkpoints_has_no_rejected_expert_request(vsi_task, tmp_path):
    checkpoints = tiny_checkpoints(tmp_path / "checkpoints", words=("chair", "table"))
    runs = tmp_path / "runs"
    model_args = {
        "policy": "program", "output_dir": runs, "run_name": "real", "experts_checkpoints": checkpoints, "num_frames": 4, "concurrency": 1,
        "expert_parameters": json.dumps(TINY_DETECTION_PARAMETERS).replace(" ", ""),
    }
    completed = _run(vsi_task, model_args, tmp_path)
    # Random weights find arbitrary objects, so some answers may fail the tools' checks; no expert may refuse a request.
    assert completed.returncode in (0, EXIT_FAILED_QUESTIONS), completed.stderr[-4000:]

    trajectories = read_trajectories(runs / "real" / "trajectories.jsonl")
    assert len(trajectories) == len(QUESTIONS)
    observations = [o for t in trajectories for turn in t.turns for o in turn.observations]
    assert observations, "the program policy called no tool"
    rejected = [o.error for o in observations if o.failure == "expert_error"]
    assert rejected == []
    assert not any("expert" in (t.error or "").lower() for t in trajectories), [t.error for t in trajectories]

    experts = json.loads((runs / "real" / "run_info.json").read_text())["experts"]
    assert experts["started_locally"] and experts["oracle_root"] is None
    assert experts["checkpoints"] == {name: str(checkpoints / name) for name in EXPERT_MODELS}
    assert {name: identity.split("|")[0] for name, identity in experts["models"].items()} == dict.fromkeys(EXPERT_MODELS, "2")
