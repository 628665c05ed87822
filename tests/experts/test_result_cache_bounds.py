"""The on-disk expert result cache stays under its byte bound, evicting what was used longest ago."""

from __future__ import annotations

import os

import numpy as np
import pytest

from skill3d_eval.experts.cache import EVICT_TO, ResultCache


def _entry(value: float) -> dict[str, np.ndarray]:
    return {"DEPTH": np.full((32, 32), value, np.float32)}  # 4 KiB of payload


def test_writes_past_the_bound_evict_the_least_recently_used_entries(tmp_path):
    probe = ResultCache(tmp_path / "probe")
    probe.put("aa" + "0" * 62, _entry(0))
    entry_bytes = probe.stored_bytes()
    cache = ResultCache(tmp_path / "cache", max_bytes=5 * entry_bytes)
    keys = [f"{i:02x}" + "0" * 62 for i in range(5)]
    for age, key in enumerate(keys):
        cache.put(key, _entry(age))
        os.utime(cache.path_for(key), ns=(age * 10**9, age * 10**9))  # distinct ages, oldest first
    assert cache.get(keys[0]) is not None  # read: now the most recently used
    cache.put("ff" + "0" * 62, _entry(9))  # six entries exceed the bound
    assert cache.stored_bytes() <= cache.max_bytes * EVICT_TO
    assert cache.evictions == 2
    assert cache.get(keys[1]) is None and cache.get(keys[2]) is None  # the two least recent went
    assert (cache.get(keys[0])["DEPTH"] == 0).all() and cache.get("ff" + "0" * 62) is not None


def test_entries_written_by_another_process_count_against_the_bound(tmp_path):
    other = ResultCache(tmp_path)
    for i in range(4):
        other.put(f"{i:02x}" + "1" * 62, _entry(i))
    mine = ResultCache(tmp_path, max_bytes=other.stored_bytes())
    mine.put("ee" + "1" * 62, _entry(7))
    assert mine.stored_bytes() <= mine.max_bytes and mine.evictions >= 1


def test_a_bound_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="max_bytes"):
        ResultCache(tmp_path, max_bytes=0)
