"""Media paths from dataset rows, resolved without ever leaving the dataset's media root.

A row is data, not trust: `../outside/secret.mp4`, an absolute path or a symlink planted in the
root must not make us read (or even test the existence of) a file elsewhere. `os.path.realpath`
would follow a link out of the root and stat what it points at before we could object, so the
path is walked one component at a time from the root: every `lstat` / `readlink` is of an entry
inside the root, a link's target is checked lexically before it is followed, and `..` may not
climb above the root.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from skill3d_eval.media.errors import MediaError

MAX_LINKS = 40  # as the kernel's ELOOP limit


def confined(root: str | os.PathLike, relative: str | os.PathLike, *, where: str) -> Path:
    """`relative` resolved (symlinks included) inside `root`; MediaError naming `where` and the
    path when it is absolute or would leave the root. The result need not exist."""
    text = os.fspath(relative)
    if not text or "\x00" in text:
        raise MediaError(f"{where}: media path {text!r} is empty or malformed")
    if os.path.isabs(text):
        raise MediaError(f"{where}: media path {text!r} is absolute; paths must be relative to the media root {root}")
    base = Path(os.path.realpath(root))
    current = base
    pending = list(PurePosixPath(text).parts)
    links = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if current == base:
                raise MediaError(f"{where}: media path {text!r} leaves the media root {base}")
            current = current.parent
            continue
        candidate = current / part
        if not candidate.is_symlink():
            current = candidate
            continue
        links += 1
        if links > MAX_LINKS:
            raise MediaError(f"{where}: media path {text!r} has too many symbolic links")
        target = os.readlink(candidate)
        if os.path.isabs(target):
            inside = _relative_to(Path(os.path.normpath(target)), base)
            if inside is None:
                raise MediaError(f"{where}: media path {text!r} is a symbolic link out of the media root {base} ({candidate} -> {target})")
            current, pending = base, [*inside.parts, *pending]
        else:
            pending = [*PurePosixPath(target).parts, *pending]
    return current


def _relative_to(path: Path, base: Path) -> Path | None:
    try:
        return path.relative_to(base)
    except ValueError:
        return None
