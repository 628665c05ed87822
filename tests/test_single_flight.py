"""The two failure policies of `SingleFlightCache`: waiters share the leader's error, or compute again."""

from __future__ import annotations

import threading
import time

import pytest

from skill3d_eval.single_flight import SingleFlightCache


def _leader_fails_while_one_waits(cache: SingleFlightCache) -> tuple[list, dict]:
    release, attempts, outcome = threading.Event(), [], {}

    def compute():
        attempts.append(threading.current_thread().name)
        if len(attempts) == 1:
            release.wait(10)
            raise RuntimeError("first attempt failed")
        return "value"

    def ask(name):
        try:
            outcome[name] = cache.get("k", compute)
        except RuntimeError as error:
            outcome[name] = error

    leader = threading.Thread(target=ask, args=("leader",), name="leader")
    leader.start()
    deadline = time.monotonic() + 10
    while not attempts:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    waiter = threading.Thread(target=ask, args=("waiter",), name="waiter")
    waiter.start()
    while cache.stats.shared == 0:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    release.set()
    leader.join(10)
    waiter.join(10)
    return attempts, outcome


def test_waiters_get_the_leaders_error_by_default():
    attempts, outcome = _leader_fails_while_one_waits(SingleFlightCache(1 << 10, len))
    assert attempts == ["leader"]
    assert isinstance(outcome["leader"], RuntimeError) and outcome["waiter"] is outcome["leader"]


def test_waiters_compute_again_when_asked_to():
    cache = SingleFlightCache(1 << 10, len, waiters_retry=True)
    attempts, outcome = _leader_fails_while_one_waits(cache)
    assert attempts == ["leader", "waiter"]
    assert isinstance(outcome["leader"], RuntimeError) and outcome["waiter"] == "value"
    assert cache.get("k", lambda: pytest.fail("kept")) == "value" and cache.stats.computed == 2
