"""Frozen libraries: one immutable, content-hashed file that evaluation only ever reads.

`freeze` writes the store's active skills with their embeddings (cached so retrieval never
re-embeds the library) as canonical JSON, names the file by its sha256 and makes it read-only.
`FrozenLibrary.open` reads the bytes once, checks the hash against the name and never writes:
the file is byte-identical after any number of evaluations.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import stat
from collections.abc import Collection
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from skill3d_eval.records import Sample
from skill3d_eval.skills.embedding import Embedder, embedder_named
from skill3d_eval.skills.model import Provenance, Skill
from skill3d_eval.skills.scene import SceneDescriptor
from skill3d_eval.skills.retrieval import Retrieval, RetrievalWeights, SkillIndex

FORMAT = "skill3d-library/1"


class SnapshotError(Exception):
    pass


class SnapshotDocument(BaseModel):
    """The keys a frozen library must have; a file missing one is refused naming it."""

    format: str
    library_version: int
    embedder: str
    dim: int = Field(ge=1)
    skills: list[Skill]
    embeddings: str


def snapshot_bytes(skills: list[Skill], embedder: Embedder, library_version: int) -> bytes:
    skills = sorted(skills, key=lambda s: s.id)
    vectors = embedder.encode([s.embedding_text() for s in skills]) if skills else np.zeros((0, embedder.dim), np.float32)
    document = {
        "format": FORMAT,
        "library_version": library_version,
        "embedder": embedder.name,
        "dim": embedder.dim,
        "skills": [skill.model_dump(mode="json") for skill in skills],
        "embeddings": base64.b64encode(np.ascontiguousarray(vectors, dtype="<f4").tobytes()).decode(),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def freeze(skills: list[Skill], embedder: Embedder, out_dir: Path, library_version: int) -> Path:
    """Write the snapshot as `library-<sha256>.json`, read-only; an identical snapshot is reused as is."""
    data = snapshot_bytes(skills, embedder, library_version)
    digest = hashlib.sha256(data).hexdigest()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"library-{digest}.json"
    if path.exists():
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise SnapshotError(f"{path} exists with other content: refusing to overwrite a frozen library")
        return path
    tmp = out_dir / f".{path.name}.tmp"
    tmp.write_bytes(data)
    os.chmod(tmp, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    os.replace(tmp, path)
    return path


class FrozenLibrary:
    """A read-only library: `retrieve(sample)` for policies, `sha256` for the run record."""

    def __init__(self, path: Path | None, sha256: str, document: SnapshotDocument, weights: RetrievalWeights | None = None):
        self.path = path
        self.sha256 = sha256
        self.library_version = document.library_version
        self.skills = document.skills
        embedder = embedder_named(document.embedder)
        if embedder.name == document.embedder:
            vectors = np.frombuffer(base64.b64decode(document.embeddings), dtype="<f4").reshape(len(self.skills), document.dim)
        else:
            vectors = embedder.encode([s.embedding_text() for s in self.skills])
        self.index = SkillIndex(self.skills, vectors, embedder, weights)

    @classmethod
    def open(cls, path: Path, weights: RetrievalWeights | None = None) -> FrozenLibrary:
        path = Path(path)
        try:
            with path.open("rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise SnapshotError(f"library {path}: cannot read: {exc}") from exc
        digest = hashlib.sha256(data).hexdigest()
        if path.name.startswith("library-") and path.stem != f"library-{digest}":
            raise SnapshotError(f"library {path}: content hash {digest} does not match its name (modified after freezing?)")
        try:
            document = json.loads(data)
        except json.JSONDecodeError as exc:
            raise SnapshotError(f"library {path}: not JSON: {exc}") from exc
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            found = document.get("format") if isinstance(document, dict) else type(document).__name__
            raise SnapshotError(f"library {path}: format {found!r}, expected {FORMAT!r}")
        try:
            validated = SnapshotDocument.model_validate(document)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
            raise SnapshotError(f"library {path}: {problems}") from None
        try:
            return cls(path, digest, validated, weights)
        except (ValueError, binascii.Error) as exc:
            raise SnapshotError(f"library {path}: embeddings do not match its skills: {exc}") from None

    @classmethod
    def in_memory(cls, skills: list[Skill], embedder: Embedder, weights: RetrievalWeights | None = None) -> FrozenLibrary:
        data = snapshot_bytes(skills, embedder, 0)
        return cls(None, hashlib.sha256(data).hexdigest(), SnapshotDocument.model_validate_json(data), weights)

    def retrieve(self, sample: Sample, tools: Collection[str] | None = None, scene: SceneDescriptor | None = None) -> Retrieval:
        return self.index.retrieve(sample, tools, scene=scene)

    def provenance(self) -> list[Provenance]:
        return [skill.provenance for skill in self.skills]
