"""Content-addressed, on-disk cache of expert results, shared by threads and processes.

An agent asks about the same scene frames in question after question; the answer of a model
depends only on the model (name, version, configuration), the input tensors and the requested
outputs, so that is the key. Entries are immutable `npz` files written to a temporary name and
renamed into place (atomic on POSIX), so concurrent writers of one key cannot corrupt it — the
last rename wins with identical content — and a reader sees a whole entry or none.

The cache is bounded (`max_bytes`, default `RESULT_CACHE_BYTES`): a read refreshes an entry's
mtime, and when a process's writes take the directory over the bound, the entries read or written
longest ago are deleted until it is back under `EVICT_TO` of it (scanning the directory then, so
entries other processes wrote are counted too; between scans each process counts its own writes).
Deleting is safe under concurrent readers: a reader that loses the race recomputes.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

RESULT_CACHE_BYTES = 4 * 1024**3
EVICT_TO = 0.8


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

    def __init__(self, root: str | os.PathLike, max_bytes: int = RESULT_CACHE_BYTES):
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be > 0, got {max_bytes}")
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.evictions = 0
        self._bytes: int | None = None  # this process's estimate; None until the first write scans
        self._lock = threading.Lock()

    def path_for(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        path = self.path_for(key)
        try:
            with np.load(path, allow_pickle=False) as data:
                result = {name.removesuffix(".bytes"): _restore(name, data[name]) for name in data.files}
        except FileNotFoundError:
            return None
        except (OSError, ValueError, zipfile.BadZipFile):
            return None  # unreadable entry (e.g. a foreign file): recompute, and the put replaces it
        try:
            os.utime(path)  # recently used: evicted last
        except OSError:
            pass  # evicted meanwhile by another process; the result read is whole
        return result

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
            size = os.path.getsize(temporary)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self._account(size)

    def stored_bytes(self) -> int:
        return sum(size for _, size, _ in self._entries())

    def _account(self, written: int) -> None:
        with self._lock:
            if self._bytes is None:
                self._bytes = self.stored_bytes()
            else:
                self._bytes += written
            if self._bytes <= self.max_bytes:
                return
            entries = sorted(self._entries(), key=lambda entry: entry[2])
            total = sum(size for _, size, _ in entries)
            for path, size, _ in entries:
                if total <= self.max_bytes * EVICT_TO:
                    break
                path.unlink(missing_ok=True)
                total -= size
                self.evictions += 1
            self._bytes = total

    def _entries(self) -> list[tuple[Path, int, int]]:
        """(path, size, mtime_ns) of every entry; ones deleted while listing are left out."""
        entries = []
        for path in self.root.glob("*/*.npz"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            entries.append((path, stat.st_size, stat.st_mtime_ns))
        return entries


def _restore(name: str, value: np.ndarray) -> np.ndarray:
    return value.astype(np.object_) if name.endswith(".bytes") else value
