"""Ground truth of rendered frames, addressed by the frame's pixel content.

The `oracle` expert backends answer from the truth of the very frame they are sent, so the
key is a hash of the decoded pixels (shape included): the evaluator can send any frame it
decoded from the dataset and the server finds its truth without knowing sample ids.
Written once by the `spatial_synth` generator, read by the Triton oracle models.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def frame_key(image: np.ndarray) -> str:
    """Content key of an RGB frame: sha256 over its shape and its C-ordered uint8 pixels."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"frame_key expects a uint8 [H,W,3] array, got {image.dtype} {image.shape}")
    digest = hashlib.sha256(f"{image.shape[0]}x{image.shape[1]}x3:".encode())
    digest.update(np.ascontiguousarray(image).tobytes())
    return digest.hexdigest()


@dataclass
class FrameTruth:
    """Exact truth of one rendered view.

    Camera frame is OpenCV's (x right, y down, z forward); the world frame has z up and the
    floor at z = 0. `depth` is metric z-depth; `instances` holds 0 for background and the
    object's instance id (> 0) elsewhere; `labels` maps instance id to category name.
    """

    scene: str
    frame_index: int
    depth: np.ndarray
    instances: np.ndarray
    labels: dict[int, str]
    intrinsics: np.ndarray
    pose_c2w: np.ndarray


class OracleMiss(KeyError):
    """The frame is not one the store knows (not a spatial_synth frame, or re-encoded lossy other
    than the generator's own video encoding, whose decoded frames are registered)."""


class OracleStore:
    """A directory of `<key[:2]>/<key>.npz` files, one per frame; writes are atomic."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def put(self, image: np.ndarray, truth: FrameTruth) -> str:
        key = frame_key(image)
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            np.savez_compressed(
                handle,
                scene=np.array(truth.scene),
                frame_index=np.array(truth.frame_index, dtype=np.int32),
                depth=truth.depth.astype(np.float32),
                instances=truth.instances.astype(np.int32),
                labels_json=np.array(json.dumps({str(k): v for k, v in truth.labels.items()})),
                intrinsics=truth.intrinsics.astype(np.float32),
                pose_c2w=truth.pose_c2w.astype(np.float32),
            )
        os.replace(tmp, path)
        return key

    def alias(self, image: np.ndarray, key: str) -> str:
        """Make `image` find the truth already stored under `key`: one rendered frame reaches the
        evaluator as different pixels (lossless PNG, decoded H.264), each pixel content its own
        key. A hard link where the filesystem has them, else a copy; atomic either way."""
        source = self.path_for(key)
        if not source.is_file():
            raise OracleMiss(f"no ground truth {key} under {self.root} to alias")
        alias_key = frame_key(image)
        path = self.path_for(alias_key)
        if alias_key == key or path.is_file():
            return alias_key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{alias_key}.{os.getpid()}.tmp")
        try:
            os.link(source, tmp)
        except OSError:
            tmp.write_bytes(source.read_bytes())
        os.replace(tmp, path)
        return alias_key

    def get(self, image: np.ndarray) -> FrameTruth:
        key = frame_key(image)
        path = self.path_for(key)
        if not path.is_file():
            raise OracleMiss(f"no ground truth for frame {key} under {self.root}")
        with np.load(path) as data:
            return FrameTruth(
                scene=str(data["scene"]),
                frame_index=int(data["frame_index"]),
                depth=data["depth"],
                instances=data["instances"],
                labels={int(k): v for k, v in json.loads(str(data["labels_json"])).items()},
                intrinsics=data["intrinsics"],
                pose_c2w=data["pose_c2w"],
            )
