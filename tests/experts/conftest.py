"""Fixtures of the experts tests: a tiny hand-made OracleStore and a real Triton server on it.

Reuse from elsewhere (e.g. tests/conftest.py): the server part is
`skill3d_eval.experts.oracle_server(oracle_root, log_file=...)`; this file only adds the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from skill3d_experts.oracle_store import FrameTruth, OracleStore

from skill3d_eval.experts import ExpertsClient, TritonServer, oracle_server

HEIGHT, WIDTH = 192, 256
LABELS = {1: "chair", 2: "chair", 3: "table", 4: "lamp"}  # the lamp is never visible


@dataclass(frozen=True)
class SyntheticFrame:
    image: np.ndarray
    truth: FrameTruth


@dataclass(frozen=True)
class OracleFrames:
    root: Path
    frames: dict[str, SyntheticFrame]  # "a0", "a1": scene_a; "b0": scene_b

    def __getitem__(self, name: str) -> SyntheticFrame:
        return self.frames[name]


def pose(yaw_deg: float, position: tuple[float, float, float]) -> np.ndarray:
    """Camera-to-world of an OpenCV camera looking horizontally (world z up) with the given yaw."""
    yaw = np.deg2rad(yaw_deg)
    forward = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    down = np.array([0.0, 0.0, -1.0])
    right = np.cross(down, forward)
    c2w = np.eye(4)
    c2w[:3, :3] = np.stack([right, down, forward], axis=1)
    c2w[:3, 3] = position
    return c2w.astype(np.float32)


def synthetic_frame(seed: int, scene: str, index: int, c2w: np.ndarray) -> SyntheticFrame:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    rows = np.arange(HEIGHT, dtype=np.float32)[:, None]
    cols = np.arange(WIDTH, dtype=np.float32)[None, :]
    depth = (1.5 + 0.01 * rows + 0.002 * cols + 0.25 * seed).astype(np.float32)
    instances = np.zeros((HEIGHT, WIDTH), dtype=np.int32)
    instances[20 + seed : 60, 30:90] = 1
    instances[100:150, 10 + 5 * seed : 40 + 5 * seed] = 2
    instances[90:180, 150:240] = 3
    instances[175, 200] = 0  # a hole inside the table: boxes still tight over the mask
    intrinsics = np.array([[210.0 + seed, 0, WIDTH / 2], [0, 205.0, HEIGHT / 2], [0, 0, 1]], dtype=np.float32)
    truth = FrameTruth(
        scene=scene,
        frame_index=index,
        depth=depth,
        instances=instances,
        labels=dict(LABELS),
        intrinsics=intrinsics,
        pose_c2w=c2w,
    )
    return SyntheticFrame(image=image, truth=truth)


def write_oracle_frames(root: Path) -> OracleFrames:
    """Three hand-made frames (two views of scene_a, one of scene_b) written into an OracleStore."""
    frames = {
        "a0": synthetic_frame(0, "scene_a", 0, pose(30.0, (1.0, 2.0, 1.4))),
        "a1": synthetic_frame(1, "scene_a", 1, pose(75.0, (1.8, 2.5, 1.5))),
        "b0": synthetic_frame(2, "scene_b", 0, pose(-40.0, (0.0, 0.0, 1.2))),
    }
    store = OracleStore(root)
    for frame in frames.values():
        store.put(frame.image, frame.truth)
    return OracleFrames(root=root, frames=frames)


@pytest.fixture(scope="session")
def oracle_frames(tmp_path_factory: pytest.TempPathFactory) -> OracleFrames:
    return write_oracle_frames(tmp_path_factory.mktemp("oracle"))


@pytest.fixture(scope="session")
def triton_server(oracle_frames: OracleFrames, tmp_path_factory: pytest.TempPathFactory) -> TritonServer:
    log_file = tmp_path_factory.mktemp("triton") / "tritonserver.log"
    with oracle_server(oracle_frames.root, log_file=log_file) as server:
        yield server


@pytest.fixture(scope="session")
def experts(triton_server: TritonServer) -> ExpertsClient:
    with ExpertsClient(triton_server.grpc_url, timeout_s=10.0) as client:
        yield client
