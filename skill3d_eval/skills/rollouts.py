"""Rollouts of a policy over a spatial_synth split through the real Runner, and their accuracy.

Samples are built exactly as lmms-eval builds them for the `skill3d` model (the task's own
`doc_to_text` / `doc_to_visual`, whose video the model's sampler reads at `num_frames`; sample
ids "task/split/row"), so trajectories produced here are interchangeable with those of
`lmms-eval --model skill3d` runs.
"""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from functools import lru_cache, partial
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import yaml

from skill3d_eval.records import Sample, SampleIdentity, Trajectory
from skill3d_eval.agent.runner import Policy, Runner
from skill3d_eval.trajectory_log import TrajectoryLog
from skill3d_eval.experts import Experts
from skill3d_eval.lmms.sample import DEFAULT_NUM_FRAMES
from skill3d_eval.media.frame_cache import Frames
from skill3d_eval.media.video import sample_frames
from skill3d_eval.settings import TASKS_DIR
from skill3d_eval.synth.schema import split_path
from skill3d_eval.skills.references import Reference, load_references

TASK = "spatial_synth"


@lru_cache(maxsize=1)
def _task_utils() -> ModuleType:
    spec = importlib.util.spec_from_file_location("spatial_synth_utils", TASKS_DIR / TASK / "utils.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=1)
def _prompt_kwargs() -> dict:
    text = (TASKS_DIR / TASK / f"{TASK}.yaml").read_text()
    text = "\n".join(line for line in text.splitlines() if "!function" not in line)
    return yaml.safe_load(text)["lmms_eval_specific_kwargs"]["default"]


def synth_samples(
    root: Path, split: str, task_types: set[str] | None = None, num_frames: int = DEFAULT_NUM_FRAMES
) -> tuple[list[SampleIdentity], dict[int, Sample]]:
    """(identities, samples by row) of a split, optionally only some question types. The rows of
    a scene share one decoded set of frames (as the model's frame cache shares them)."""
    frame = pd.read_parquet(split_path(root, split))
    doc_to_visual = partial(_task_utils().doc_to_visual, lmms_eval_specific_kwargs={**_prompt_kwargs(), "video_root": str(root)})
    decoded: dict[str, Frames] = {}
    identities, samples = [], {}
    for row_index, row in enumerate(frame.to_dict("records")):
        row["options"] = [str(o) for o in row["options"]]
        if task_types is not None and row["question_type"] not in task_types:
            continue
        sample_id = f"{TASK}/{split}/{row_index}"
        frames = []
        for video in doc_to_visual(row):
            if video not in decoded:
                decoded[video] = sample_frames(video, num_frames)
            frames.extend(decoded[video])
        samples[row_index] = Sample(
            task=TASK, doc_id=row_index, sample_id=sample_id,
            question=_task_utils().doc_to_text(row, _prompt_kwargs()), frames=frames,
            task_type=row["question_type"], options=row["options"], scene=row["scene_name"], split=split,
        )
        identities.append(samples[row_index].identity)
    return identities, samples


def run_rollouts(policy: Policy, experts: Experts, run_dir: Path, identities: list[SampleIdentity], samples: dict[int, Sample], concurrency: int = 2) -> list[Trajectory]:
    runner = Runner(policy, experts, TrajectoryLog(run_dir), run_id=run_dir.name, fingerprint=run_dir.name, concurrency=concurrency, resume=False)
    return runner.run(identities, lambda index: samples[identities[index].doc_id])


def accuracy_by_type(trajectories: list[Trajectory], references: dict[int, Reference]) -> dict[str, float]:
    scores: dict[str, list[float]] = defaultdict(list)
    for trajectory in trajectories:
        reference = references[trajectory.doc_id]
        scores[reference.question_type].append(reference.score(trajectory.answer) if trajectory.stop_reason != "error" else 0.0)
    return {task: float(np.mean(values)) for task, values in sorted(scores.items())}


def references_of(root: Path, split: str) -> dict[int, Reference]:
    return load_references(split_path(root, split))
