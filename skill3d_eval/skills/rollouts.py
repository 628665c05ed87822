"""Rollouts of a policy over a split of one of spatial_synth's tasks through the real Runner, and their accuracy.

spatial_synth has one task per benchmark family (`SYNTH_TASKS`): the VSI-Bench part and the
CV-Bench-3D, BLINK and MMSI-style subsets. Samples are built exactly as lmms-eval builds them
for the `skill3d` model (the task's own `process_docs`, `doc_to_text` and `doc_to_visual`
through `data.task_docs`, then the model's `sample_from_request`, whose video sampler reads
`num_frames`; sample ids "task/split/row"), so trajectories produced here are interchangeable
with those of `lmms-eval --model skill3d` runs, and the references are those rows too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from skill3d_eval.records import Sample, SampleIdentity, Trajectory
from skill3d_eval.agent.runner import Policy, Runner
from skill3d_eval.tools import SceneMemoryStore
from skill3d_eval.trajectory_log import TrajectoryLog
from skill3d_eval.data.task_docs import TaskDocs, task_docs
from skill3d_eval.experts import Experts
from skill3d_eval.lmms.sample import DEFAULT_NUM_FRAMES, sample_from_request, task_type_of
from skill3d_eval.synth.schema import split_path
from skill3d_eval.skills.references import Reference, task_references

TASK = "spatial_synth"
SYNTH_TASKS = (TASK, "spatial_synth_cv3d", "spatial_synth_blink", "spatial_synth_mmsi")


def split_file(root: Path, split: str, task: str = TASK) -> Path:
    """A task's split under the dataset root: `data/train.parquet`, `data/cv3d_train.parquet`, ..."""
    subset = task.removeprefix(TASK).lstrip("_")
    return split_path(root, f"{subset}_{split}" if subset else split)


def _docs(root: Path, split: str, task: str) -> TaskDocs:
    return task_docs(task, split_file(root, split, task), {"video_root": str(root)})


def synth_samples(
    root: Path, split: str, task_types: set[str] | None = None, num_frames: int = DEFAULT_NUM_FRAMES, *, task: str = TASK
) -> tuple[list[SampleIdentity], dict[int, Sample]]:
    """(identities, samples by row) of a split of `task`, optionally only some question types."""
    docs = _docs(root, split, task)
    rows = [(index, doc) for index, doc in enumerate(docs.docs) if task_types is None or task_type_of(doc) in task_types]
    samples = {}
    # A scene's rows one after another: its video is decoded once and its frames are shared by
    # every question on it (the model's frame cache holds a few videos only).
    for index, doc in sorted(rows, key=lambda row: str(row[1].get("scene_name") or "")):
        request = (docs.doc_to_text(doc), {}, docs.doc_to_visual, index, task, split)
        samples[index] = replace(sample_from_request(request, doc, num_frames=num_frames), sample_id=f"{task}/{split}/{index}")
    return [samples[index].identity for index, _ in rows], samples


def run_rollouts(policy: Policy, experts: Experts, run_dir: Path, identities: list[SampleIdentity], samples: dict[int, Sample], concurrency: int = 2) -> list[Trajectory]:
    """With a run-scoped Scene Memory, as an lmms-eval run has by default: the answers are the
    same, the expert calls a fraction (`benchmarks/scene_memory.py`)."""
    runner = Runner(policy, experts, TrajectoryLog(run_dir), run_id=run_dir.name, fingerprint=run_dir.name, concurrency=concurrency, resume=False,
                    scene_memory=SceneMemoryStore())
    return runner.run(identities, lambda index: samples[identities[index].doc_id])


def accuracy_by_type(trajectories: list[Trajectory], references: dict[int, Reference]) -> dict[str, float]:
    scores: dict[str, list[float]] = defaultdict(list)
    for trajectory in trajectories:
        reference = references[trajectory.doc_id]
        scores[reference.question_type].append(reference.score(trajectory.answer) if trajectory.stop_reason != "error" else 0.0)
    return {task: float(np.mean(values)) for task, values in sorted(scores.items())}


def references_of(root: Path, split: str, *, task: str = TASK) -> dict[int, Reference]:
    return task_references(task, split_file(root, split, task))
