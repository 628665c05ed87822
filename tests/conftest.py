"""Session fixtures shared by the integration tests: the spatial_synth data, a real Triton and
program-policy trajectories on spatial_synth's training split (read by the export and training tests).

The data lives where the task YAML and `make demo` expect it (`data/spatial_synth`); it is
generated once, with the default generator, when absent.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType

import pytest

from skill3d_eval.experts import TritonServer, oracle_server
from skill3d_eval.settings import SYNTH_ROOT, TASKS_DIR

ROLLOUTS = 16


@pytest.fixture(scope="session")
def synth_root() -> Path:
    """Scenes are rendered in one process per core, as `skill3d-eval synth generate` does: the
    suite is otherwise idle while it waits, and any number of workers writes the same bytes
    (tests/synth/test_synth_dataset.py)."""
    from skill3d_eval.synth.generate import GENERATOR_VERSION, generate

    meta = SYNTH_ROOT / "meta.json"
    if not meta.is_file() or json.loads(meta.read_text()).get("generator_version") != GENERATOR_VERSION:
        generate(SYNTH_ROOT, progress=False, workers=os.cpu_count() or 1)
    return SYNTH_ROOT


@pytest.fixture(scope="session")
def synth_triton(synth_root: Path, tmp_path_factory: pytest.TempPathFactory) -> TritonServer:
    log_file = tmp_path_factory.mktemp("synth_triton") / "triton.log"
    with oracle_server(synth_root / "oracle", log_file=log_file) as server:
        yield server


@pytest.fixture(scope="session")
def program_run(synth_root: Path, synth_triton, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """trajectories.jsonl of the program policy on the first training-split questions, from the
    real Runner on the session's Triton oracle experts, with samples built exactly as lmms-eval
    builds them (`skills.rollouts`): what an evaluation run on the training split writes."""
    from skill3d_eval.agent.program import ProgramPolicy
    from skill3d_eval.experts import ExpertsClient
    from skill3d_eval.skills.rollouts import run_rollouts, synth_samples
    from skill3d_eval.tools import default_toolset

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


# Fixtures that start a real server (directly or through another fixture).
_SERVER_FIXTURES = frozenset({"synth_triton", "triton_server", "experts", "real_experts", "program_run"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses a server fixture is an integration test whether or not its module says so,
    so `-m "not integration"` is a server-free run by construction."""
    for item in items:
        if _SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())) and item.get_closest_marker("integration") is None:
            item.add_marker(pytest.mark.integration)
