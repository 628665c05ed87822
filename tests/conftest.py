"""Session fixtures shared by the integration tests: the spatial_synth data and a real Triton.

The data lives where the task YAML and `make demo` expect it (`data/spatial_synth`); it is
generated once, with the default generator, when absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skill3d_eval.experts import TritonServer, oracle_server
from skill3d_eval.settings import SYNTH_ROOT


@pytest.fixture(scope="session")
def synth_root() -> Path:
    from skill3d_eval.synth.generate import GENERATOR_VERSION, generate

    meta = SYNTH_ROOT / "meta.json"
    if not meta.is_file() or json.loads(meta.read_text()).get("generator_version") != GENERATOR_VERSION:
        generate(SYNTH_ROOT, progress=False)
    return SYNTH_ROOT


@pytest.fixture(scope="session")
def synth_triton(synth_root: Path, tmp_path_factory: pytest.TempPathFactory) -> TritonServer:
    log_file = tmp_path_factory.mktemp("synth_triton") / "triton.log"
    with oracle_server(synth_root / "oracle", log_file=log_file) as server:
        yield server
