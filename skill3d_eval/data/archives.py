"""Media archives (VSI-Bench's `arkitscenes.zip`, ...) unpacked completely, and found in the hub cache.

lmms-eval's `video: True` dataset_kwargs fetch a dataset repository with `snapshot_download`
(resumable, each file checked against its etag) and unzip its archives into
`$HF_HOME/<cache_dir>`, but only while that directory does not exist: an unpack cut short leaves
a directory lmms-eval never completes, with some videos missing or short. `unpack` makes any
unpack whole again. A member is compared with the file on disk by size (the zip's central
directory; checksumming gigabytes of video on every run would cost minutes), and one that
differs is extracted again, written beside its target and renamed into place, so an interrupted
unpack never leaves a short file under the final name. Reading a member to its end checks its
CRC, so a corrupt archive fails here, naming it, instead of in the middle of a run.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from skill3d_eval.data.errors import DataError
from skill3d_eval.media.errors import MediaError
from skill3d_eval.media.paths import confined


@dataclass(frozen=True)
class UnpackReport:
    archives: int
    members: int
    extracted: list[str] = field(default_factory=list)


def hf_home() -> Path:
    """`$HF_HOME` read as lmms-eval reads it for its video caches (no XDG fallback)."""
    return Path(os.path.expanduser(os.getenv("HF_HOME", "~/.cache/huggingface/")))


def hub_cache_dir(cache_dir: str) -> Path:
    """Where lmms-eval unpacks a task's `dataset_kwargs.cache_dir` (its `utils.resolve_cache_dir`
    against `$HF_HOME`): the default video root of our tasks must be that very directory."""
    resolved = os.path.expanduser(os.path.expandvars(cache_dir))
    return Path(resolved) if os.path.isabs(resolved) else hf_home() / resolved


def cached_snapshot(repo_id: str, revision: str = "main", hub_cache: Path | None = None) -> Path | None:
    """The dataset repository's snapshot in the hub cache (default: huggingface_hub's), or None;
    never touches the network."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id, repo_type="dataset", revision=revision, cache_dir=hub_cache, local_files_only=True))
    except LocalEntryNotFoundError:
        return None


def archives_in(directory: Path, names: Sequence[str] = ()) -> list[Path]:
    """The zip archives of a snapshot: those named (when they are there), or every `*.zip` under it."""
    if names:
        return [directory / name for name in names if (directory / name).is_file()]
    return sorted(directory.rglob("*.zip"))


def unpack(archives: Sequence[Path], destination: Path) -> UnpackReport:
    """Every member of `archives` present under `destination` with its archived size; only the
    missing and short ones are extracted. DataError names an unreadable archive or a member
    whose name would leave `destination`."""
    destination.mkdir(parents=True, exist_ok=True)
    members, extracted = 0, []
    for archive in archives:
        try:
            with zipfile.ZipFile(archive) as handle:
                for info in handle.infolist():
                    if info.is_dir():
                        continue
                    members += 1
                    target = confined(destination, info.filename, where=f"{archive} member")
                    if target.is_file() and target.stat().st_size == info.file_size:
                        continue
                    _extract(handle, info, target)
                    extracted.append(info.filename)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
            raise DataError(f"{archive}: unreadable archive ({exc}); delete it and download it again") from None
        except MediaError as exc:
            raise DataError(str(exc)) from None
    return UnpackReport(archives=len(archives), members=members, extracted=extracted)


def _extract(handle: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        with handle.open(info) as source, partial.open("wb") as sink:
            shutil.copyfileobj(source, sink, 1 << 20)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
