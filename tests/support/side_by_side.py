"""Independent lmms-eval runs side by side. A run spends much of its wall time waiting (on a
scripted endpoint's delays, on the experts' Triton server), so two started together finish
sooner than one after the other."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def side_by_side(*calls: Callable[[], T]) -> list[T]:
    """Each call's result, in order; a call that raised raises here (after all have ended).
    Only for calls that share nothing they write: another run directory, another output path."""
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
    return [future.result() for future in futures]
