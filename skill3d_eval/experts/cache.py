"""Content-addressed, on-disk cache of expert results, shared by threads and processes.

An agent asks about the same scene frames in question after question; the answer of a model
depends only on the model (name, version, configuration), the input tensors and the requested
outputs, so that is the key. Entries are immutable `npz` files written to a temporary name and
renamed into place (atomic on POSIX), so concurrent writers of one key cannot corrupt it — the
last rename wins with identical content — and a reader sees a whole entry or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np


def tensor_digest(name: str, value: np.ndarray) -> str:
    """Hash of one input tensor: name, dtype, shape and its C-ordered bytes (strings element by element)."""
    digest = hashlib.sha256(f"{name}|{value.dtype.str}|{list(value.shape)}|".encode())
    if value.dtype == np.object_:
        for item in value.reshape(-1):
            data = item if isinstance(item, bytes) else str(item).encode()
            digest.update(len(data).to_bytes(8, "little") + data)
    else:
        digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


def cache_key(model: str, version: str, config_digest: str, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]) -> str:
    """sha256 of model name + version + configuration + every input tensor + the requested outputs."""
    document = {
        "model": model,
        "version": version,
        "config": config_digest,
        "inputs": {name: tensor_digest(name, value) for name, value in sorted(inputs.items())},
        "outputs": sorted(outputs),
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


class ResultCache:
    """`<root>/<key[:2]>/<key>.npz`; BYTES tensors are stored as fixed-width bytes and restored as objects."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        path = self.path_for(key)
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name.removesuffix(".bytes"): _restore(name, data[name]) for name in data.files}
        except FileNotFoundError:
            return None
        except (OSError, ValueError, zipfile.BadZipFile):
            return None  # unreadable entry (e.g. a foreign file): recompute, and the put replaces it

    def put(self, key: str, outputs: Mapping[str, np.ndarray]) -> None:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {
            (f"{name}.bytes" if value.dtype == np.object_ else name): (
                np.array([v if isinstance(v, bytes) else str(v).encode() for v in value.reshape(-1)], dtype=bytes).reshape(value.shape)
                if value.dtype == np.object_
                else value
            )
            for name, value in outputs.items()
        }
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{key[:8]}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, **arrays)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _restore(name: str, value: np.ndarray) -> np.ndarray:
    return value.astype(np.object_) if name.endswith(".bytes") else value
