"""A circuit breaker per expert model, so a dead or overloaded model costs a failed call only
until the breaker opens; after that, calls fail at once instead of each waiting for timeouts
and retries, and one probe per `reset_timeout_s` finds out when the model is back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import Enum


class BreakerState(str, Enum):
    CLOSED = "closed"  # calls go through
    OPEN = "open"  # calls fail fast
    HALF_OPEN = "half_open"  # one probe is in flight; the others fail fast


class CircuitBreaker:
    """Opens after `failure_threshold` consecutive failures; thread-safe."""

    def __init__(self, failure_threshold: int = 5, reset_timeout_s: float = 10.0, clock: Callable[[], float] = time.monotonic):
        if failure_threshold < 1 or reset_timeout_s < 0:
            raise ValueError(f"need failure_threshold >= 1 and reset_timeout_s >= 0, got {failure_threshold}, {reset_timeout_s}")
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self.last_error = ""

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state

    @property
    def failures(self) -> int:
        return self._failures

    def retry_in_s(self) -> float:
        return max(0.0, self._opened_at + self.reset_timeout_s - self._clock())

    def allow(self) -> bool:
        """Whether a call may go out now; the first call after the reset timeout becomes the probe."""
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return True
            if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.reset_timeout_s:
                self._state = BreakerState.HALF_OPEN
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._state, self._failures = BreakerState.CLOSED, 0

    def record_failure(self, error: str = "") -> None:
        with self._lock:
            self._failures += 1
            self.last_error = error
            if self._state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
                self._state, self._opened_at = BreakerState.OPEN, self._clock()
