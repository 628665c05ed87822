"""Client-side request and token budgets per endpoint, shared by all concurrent agent loops.

Providers enforce requests- and tokens-per-minute limits; staying under them on our side
avoids burning retries on 429s. Server-sent Retry-After is honoured by the openai SDK's own
retries; this only paces what we send.
"""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """Two token buckets (requests, tokens) refilled continuously; `acquire` blocks until both allow."""

    def __init__(self, requests_per_minute: float | None = None, tokens_per_minute: float | None = None, clock=time.monotonic, sleep=time.sleep):
        self.rpm = requests_per_minute
        self.tpm = tokens_per_minute
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._requests = requests_per_minute or 0.0
        self._tokens = tokens_per_minute or 0.0
        self._updated = clock()

    def acquire(self, expected_tokens: int = 0) -> None:
        if self.rpm is None and self.tpm is None:
            return
        while True:
            with self._lock:
                self._refill()
                wait = max(self._wait(self._requests, 1, self.rpm), self._wait(self._tokens, min(expected_tokens, self.tpm or 0), self.tpm))
                if wait <= 0:
                    if self.rpm is not None:
                        self._requests -= 1
                    if self.tpm is not None:
                        self._tokens -= expected_tokens
                    return
            self._sleep(wait)

    def record(self, actual_tokens: int, expected_tokens: int) -> None:
        """Correct the token bucket once the response says what a request really cost."""
        if self.tpm is None:
            return
        with self._lock:
            self._tokens -= actual_tokens - expected_tokens

    def _refill(self) -> None:
        now = self._clock()
        elapsed, self._updated = now - self._updated, now
        if self.rpm is not None:
            self._requests = min(self.rpm, self._requests + elapsed * self.rpm / 60)
        if self.tpm is not None:
            self._tokens = min(self.tpm, self._tokens + elapsed * self.tpm / 60)

    @staticmethod
    def _wait(available: float, needed: float, per_minute: float | None) -> float:
        if per_minute is None or available >= needed:
            return 0.0
        return (needed - available) * 60 / per_minute
