"""How large one sample's visuals may be, enforced from headers before anything is decoded.

Task `doc_to_visual` functions decode images for whichever lmms-eval model runs the task, but
only the skill3d model knows the run's settings. It applies its limits around its own calls
(`with applied(limits): doc_to_visual(doc)`); any other caller gets the defaults, which are the
settings' defaults. A context variable, not a module global, so concurrent workers with
different limits (tests, several sessions in one process) do not see each other's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from skill3d_eval.media.errors import MediaLimitError

DEFAULT_MAX_FRAMES = 256
DEFAULT_MAX_FRAME_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class MediaLimits:
    max_frames: int = DEFAULT_MAX_FRAMES
    max_frame_pixels: int = DEFAULT_MAX_FRAME_PIXELS

    def check_count(self, count: int, where: str) -> None:
        if count > self.max_frames:
            raise MediaLimitError(f"{where}: {count} images exceed max_frames={self.max_frames}")

    def check_size(self, width: int, height: int, where: str) -> None:
        if width * height > self.max_frame_pixels:
            raise MediaLimitError(f"{where}: {width}x{height} exceeds max_frame_pixels={self.max_frame_pixels}")


_current: ContextVar[MediaLimits] = ContextVar("media_limits", default=MediaLimits())


def current() -> MediaLimits:
    return _current.get()


@contextmanager
def applied(limits: MediaLimits) -> Iterator[MediaLimits]:
    token = _current.set(limits)
    try:
        yield limits
    finally:
        _current.reset(token)
