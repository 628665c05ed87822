"""The error of an unusable data source or row."""

from __future__ import annotations


class DataError(ValueError):
    """A row of a data source is unusable; the message names the row and the field."""
