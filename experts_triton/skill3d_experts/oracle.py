"""What the oracle backends share: store lookups with a small cache of decoded truths.

Agents ask several experts about the same frames, and decoding a frame's npz costs more than
the rest of a request, so each model instance keeps the last truths (read-only arrays). A
question's tools walk over all of its frames, in order, one expert call after another, so the
cache must hold a whole question's frames (32 from a VSI video by default, two questions' worth
kept): an LRU smaller than that misses on every frame of every walk.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np

from skill3d_experts.oracle_store import FrameTruth, OracleStore, frame_key


def oracle_root_param(model: str, params: dict[str, str]) -> Path:
    """The `oracle_root` config parameter, checked: the oracle backends cannot answer without it."""
    root = params.get("oracle_root", "").strip()
    if not root:
        raise ValueError(
            f"{model}: backend 'oracle' needs the config parameter 'oracle_root' (directory of an OracleStore)"
        )
    if not Path(root).is_dir():
        raise ValueError(f"{model}: oracle_root {root!r} is not a directory")
    return Path(root)


class OracleTruths:
    """`OracleStore.get` behind an LRU of `capacity` frames; answers (frame key, truth)."""

    def __init__(self, store: OracleStore, capacity: int = 64):
        self.store = store
        self.capacity = capacity
        self._cache: OrderedDict[str, FrameTruth] = OrderedDict()

    def get(self, image: np.ndarray) -> tuple[str, FrameTruth]:
        key = frame_key(image)
        truth = self._cache.get(key)
        if truth is None:
            truth = self.store.get(image)  # raises OracleMiss naming the key
            for array in (truth.depth, truth.instances, truth.intrinsics, truth.pose_c2w):
                array.setflags(write=False)
            self._cache[key] = truth
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return key, truth
