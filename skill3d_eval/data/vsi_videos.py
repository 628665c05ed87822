"""Where VSI-Bench's videos are, and making sure they are all there before the first question.

A row's video is `<video_root>/<dataset>/<scene_name>.mp4` (the layout of the repository's
archives once unpacked) or, when a local source has one, its `video` column relative to the
same root. From the hub the root is lmms-eval's own video cache, `$HF_HOME/vsibench`, shared with
its `vsibench` task. `HubVideos` guards that cache around lmms-eval's download: offline with
nothing cached it fails before anything is loaded, naming what is missing and how to get it; after
the download it completes a partial unpack from the cached archives and refuses a cache that
still lacks videos some questions need (a broken cache is one error, not hundreds of failed rows).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skill3d_eval.data.archives import UnpackReport, archives_in, cached_snapshot, hub_cache_dir, unpack
from skill3d_eval.data.errors import DataError
from skill3d_eval.media.paths import confined

VIDEO_CACHE = "vsibench"  # lmms-eval's vsibench `dataset_kwargs.cache_dir`; our YAML names the same
SHOWN = 5


def relative_video(doc: Mapping[str, Any]) -> str | None:
    """The row's video path relative to the video root, or None when the row does not say."""
    if doc.get("video"):
        return str(doc["video"])
    if doc.get("dataset") and doc.get("scene_name"):
        return f"{doc['dataset']}/{doc['scene_name']}.mp4"
    return None


def row_video(doc: Mapping[str, Any], root: Path, *, where: str, missing_hint: str) -> Path:
    """The row's video, resolved inside `root` (`media.paths.confined`: a row cannot point the
    model at a file elsewhere) and present; DataError naming the row and the expected path, with
    `missing_hint` saying how to get the videos. Shared by every task in VSI-Bench's schema."""
    relative = relative_video(doc)
    if relative is None:
        raise DataError(f"{where}: malformed row: no video column and no dataset/scene_name to find the video by")
    path = confined(root, relative, where=where)
    if not path.is_file():
        raise DataError(f"{where}: video {path} does not exist ({missing_hint})")
    return path


def hub_video_root() -> Path:
    return hub_cache_dir(VIDEO_CACHE)


def hub_offline() -> bool:
    from huggingface_hub import is_offline_mode

    return is_offline_mode()


@dataclass(frozen=True)
class HubVideos:
    """The videos of `repo_id` as lmms-eval fetches them: archives `archives` of the repository,
    unpacked into `root`; `offline` as the process runs (HF_HUB_OFFLINE), `hub_cache` where
    huggingface_hub keeps its downloads (None: its default)."""

    repo_id: str
    root: Path
    archives: tuple[str, ...]
    offline: bool
    revision: str = "main"
    hub_cache: Path | None = None

    def how_to_get(self) -> str:
        return (
            f"run once with network access (lmms-eval downloads {self.repo_id} and unpacks {', '.join(self.archives)} into {self.root}), "
            f"or download it where there is network (huggingface-cli download --repo-type dataset {self.repo_id} --local-dir DIR), "
            "bring DIR here and run: skill3d-eval data layout DIR --out OVERRIDES, then lmms-eval ... --include_path OVERRIDES"
        )

    def check_obtainable(self) -> None:
        """Offline, the videos must be unpacked already or their archives cached: else DataError now,
        before lmms-eval retries a download that cannot happen."""
        if not self.offline or self.root.is_dir():
            return
        snapshot = cached_snapshot(self.repo_id, self.revision, self.hub_cache)
        cached = {path.name for path in archives_in(snapshot, self.archives)} if snapshot else set()
        if missing := [name for name in self.archives if name not in cached]:
            raise DataError(
                f"{self.repo_id}: offline (HF_HUB_OFFLINE=1) and its videos are not here: no unpacked videos at {self.root} "
                f"and {', '.join(missing)} not in the hub cache; {self.how_to_get()}"
            )

    def questions_unavailable(self, config: str | None) -> DataError:
        return DataError(
            f"{self.repo_id}: offline (HF_HUB_OFFLINE=1) and its questions (config {config}) are not in the datasets cache; {self.how_to_get()}"
        )

    def complete(self) -> UnpackReport | None:
        """A partial unpack made whole from the cached archives; None when none is cached."""
        snapshot = cached_snapshot(self.repo_id, self.revision, self.hub_cache)
        archives = archives_in(snapshot, self.archives) if snapshot else []
        return unpack(archives, self.root) if archives else None

    def check_rows(self, docs: Iterable[Mapping[str, Any]]) -> int:
        """Number of videos the rows need; DataError when any is not under `root`."""
        needed = {relative for relative in map(relative_video, docs) if relative}
        missing = sorted(relative for relative in needed if not (self.root / relative).is_file())
        if missing:
            raise DataError(
                f"{self.repo_id}: {len(missing)} of the {len(needed)} videos its questions need are missing under {self.root} "
                f"(e.g. {', '.join(missing[:SHOWN])}): the unpack is incomplete and its archives are not cached to complete it; "
                f"delete {self.root} and {self.how_to_get()}"
            )
        return len(needed)

