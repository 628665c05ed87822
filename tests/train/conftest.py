"""Fixtures of the training tests: program-policy trajectories on spatial_synth's training split.

They come from the real Runner with the `program` policy on the session's Triton oracle
experts, built exactly as lmms-eval builds samples (`skills.rollouts`), so the export reads
what an evaluation run on the training split writes.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from skill3d_eval.agent.program import ProgramPolicy
from skill3d_eval.experts import ExpertsClient
from skill3d_eval.settings import TASKS_DIR
from skill3d_eval.skills.rollouts import run_rollouts, synth_samples
from skill3d_eval.tools import default_toolset

ROLLOUTS = 16


@pytest.fixture(scope="session")
def program_run(synth_root: Path, synth_triton, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """trajectories.jsonl of the program policy on the first training-split questions."""
    keys, samples = synth_samples(synth_root, "train")
    run_dir = tmp_path_factory.mktemp("program_train") / "program"
    with ExpertsClient(synth_triton.grpc_url) as experts:
        run_rollouts(ProgramPolicy(default_toolset()), experts, run_dir, keys[:ROLLOUTS], samples)
    return run_dir / "trajectories.jsonl"


@pytest.fixture(scope="session")
def task_utils() -> ModuleType:
    """spatial_synth's task functions, as lmms-eval loads them: the scorer rewards must agree with."""
    spec = importlib.util.spec_from_file_location("spatial_synth_task_utils", TASKS_DIR / "spatial_synth" / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def task_score(utils: ModuleType, doc: dict, reply: str) -> float:
    return utils.process_results(doc, [reply])["spatial_synth_overall"]["score"]
