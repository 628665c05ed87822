"""One decode per video at a time, shared by concurrent questions; a cache bounded by bytes."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from skill3d_eval.media.frame_cache import FrameCache
from skill3d_eval.media.video import VideoDecodeError, sample_frames
from tests.media.clips import write_h264


def _frames(count: int, nbytes: int) -> tuple[np.ndarray, ...]:
    return tuple(np.zeros(nbytes, dtype=np.uint8) for _ in range(count))


def _wait_until(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_concurrent_requests_for_one_key_share_a_single_decode():
    cache, release, calls = FrameCache(1 << 20), threading.Event(), []

    def decode():
        calls.append(1)
        release.wait(10)
        return _frames(2, 10)

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(cache.get, "video", decode) for _ in range(4)]
        _wait_until(lambda: cache.stats.shared == 3)  # three wait while the first decodes
        release.set()
        results = [f.result() for f in futures]
    assert len(calls) == 1 and cache.stats.computed == 1
    assert all(r is results[0] for r in results)


def test_four_threads_on_one_real_video_decode_it_once(tmp_path):
    path = write_h264(tmp_path / "v.mp4", frames=120, size=(160, 120))
    cache, start = FrameCache(1 << 30), threading.Barrier(4)

    def ask(_):
        start.wait()
        return sample_frames(path, 16, cache=cache)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(ask, range(4)))
    assert cache.stats.computed == 1 and cache.stats.shared + cache.stats.hits == 3
    assert all(r is results[0] for r in results) and len(results[0]) == 16


def test_a_failed_decode_reaches_its_waiters_and_is_retried_by_the_next_caller():
    cache, release, attempts = FrameCache(1 << 20), threading.Event(), []

    def failing():
        attempts.append(1)
        release.wait(10)
        raise VideoDecodeError("video x.mp4: cannot decode")

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(cache.get, "k", failing) for _ in range(2)]
        _wait_until(lambda: cache.stats.shared == 1)
        release.set()
        for future in futures:
            with pytest.raises(VideoDecodeError, match="x.mp4"):
                future.result()
    assert len(attempts) == 1
    assert cache.get("k", lambda: _frames(1, 4))[0].nbytes == 4  # not remembered as failed
    assert cache.stats.computed == 2


def test_least_recently_used_results_are_evicted_by_bytes():
    cache = FrameCache(max_bytes=300)
    for key in "abc":
        cache.get(key, lambda: _frames(1, 100))
    cache.get("a", lambda: pytest.fail("a is cached"))  # a becomes the most recent
    cache.get("d", lambda: _frames(2, 50))  # 400 bytes: b (least recent) goes
    assert cache.cached_bytes == 300 and len(cache) == 3 and cache.stats.evictions == 1
    decoded = []
    cache.get("b", lambda: decoded.append("b") or _frames(1, 100))
    assert decoded == ["b"]
    big = cache.get("huge", lambda: _frames(1, 1000))  # larger than the budget: returned, not kept
    assert big[0].nbytes == 1000 and len(cache) == 3 and cache.cached_bytes == 300


def test_a_replaced_file_is_decoded_again(tmp_path):
    path = write_h264(tmp_path / "v.mp4", frames=30)
    cache = FrameCache(1 << 30)
    first = sample_frames(path, 4, cache=cache)
    assert sample_frames(path, 4, cache=cache) is first and cache.stats.computed == 1
    write_h264(path, frames=20, start_pts=100)
    os.utime(path, ns=(1, 1))
    second = sample_frames(path, 4, cache=cache)
    assert cache.stats.computed == 2 and not np.array_equal(second[1], first[1])


def test_a_truncated_video_is_an_error_naming_it_and_the_repaired_file_decodes(tmp_path):
    path = write_h264(tmp_path / "cut.mp4", frames=60)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) * 2 // 3])
    cache = FrameCache(1 << 30)
    with pytest.raises(VideoDecodeError, match="cut.mp4: truncated"):
        sample_frames(path, 8, cache=cache)
    path.write_bytes(whole)
    assert len(sample_frames(path, 8, cache=cache)) == 8 and cache.stats.computed == 2
