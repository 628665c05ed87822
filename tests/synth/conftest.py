"""Small generated datasets shared by the spatial_synth tests (generation is the slow part)."""

import os
from pathlib import Path

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest  # noqa: E402

from skill3d_eval.synth.generate import generate  # noqa: E402

SMALL = dict(scenes=3, frames=8, width=96, height=72, progress=False)  # 8: 4 frames rarely show every object twice


@pytest.fixture
def small_args() -> dict:
    """Generator arguments of `small_dataset`, for tests that generate more like it."""
    return dict(SMALL)


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> Path:
    """A 3-scene dataset; tests must not modify it (copy it first)."""
    out = tmp_path_factory.mktemp("synth") / "seed0"
    generate(out, seed=0, **SMALL)
    return out
