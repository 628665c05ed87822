"""Why a visual was refused, as one exception family the agent records per row."""

from __future__ import annotations


class MediaError(ValueError):
    """A visual cannot be used: outside its root, missing, corrupt, truncated or too large.
    The message names the row (or file) and the path, so the recorded error is actionable."""


class MediaLimitError(MediaError):
    """A visual is larger than the run allows; raised from headers, before pixels are decoded."""
