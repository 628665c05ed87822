"""The shared-server client: circuit breaker, retries on transient failures only, HTTP, the result cache."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest

from skill3d_eval.experts import (
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
    ExpertRequestError,
    ExpertsClient,
    ExpertUnavailable,
    ResultCache,
)
from skill3d_eval.experts.cache import cache_key
from skill3d_eval.experts.server import free_port


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_failures_and_probes_once():
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout_s=5.0, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure("refused")
    breaker.record_success()  # a success resets the count
    for _ in range(3):
        assert breaker.allow()
        breaker.record_failure("refused")
    assert breaker.state is BreakerState.OPEN and not breaker.allow() and breaker.retry_in_s() == 5.0
    clock.now += 5.0
    assert breaker.allow() and breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow()  # only one probe at a time
    breaker.record_failure("still down")
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    clock.now += 5.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=0)


def test_unreachable_server_is_retried_then_the_circuit_opens():
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    with ExpertsClient(f"127.0.0.1:{free_port()}", timeout_s=2.0, retries=2, backoff_s=0.01, breaker_threshold=2, breaker_reset_s=60) as client:
        for _ in range(2):
            with pytest.raises(ExpertUnavailable, match="depth at 127.0.0.1:.* unavailable") as raised:
                client.depth(image)
            assert not isinstance(raised.value, CircuitOpen)
        assert client.stats.retries == 4 and client.stats.failures == 2
        assert client.breaker("depth").state is BreakerState.OPEN
        with pytest.raises(CircuitOpen, match="circuit open after 2 consecutive failures") as raised:
            client.depth(image)
        assert raised.value.model == "depth"
        assert client.stats.retries == 4  # failing fast: nothing was sent
        assert client.breaker("segmentation").state is BreakerState.CLOSED  # one breaker per model


@pytest.mark.integration
def test_rejected_requests_are_not_retried_and_do_not_open_the_circuit(experts):
    client = ExpertsClient(experts.url, timeout_s=10.0, breaker_threshold=1)
    unknown = np.full((16, 16, 3), 9, dtype=np.uint8)
    for _ in range(3):
        with pytest.raises(ExpertRequestError):
            client.depth(unknown)
    assert client.stats.retries == 0 and client.breaker("depth").state is BreakerState.CLOSED
    client.close()


@pytest.mark.integration
def test_http_protocol_gives_the_same_answers(triton_server, oracle_frames):
    frame = oracle_frames["a1"]
    with ExpertsClient(triton_server.http_url, protocol="http", timeout_s=10.0, headers={"Authorization": "Bearer team-token"}) as client:
        assert client.ready() and client.protocol == "http"
        np.testing.assert_array_equal(client.depth(frame.image).depth, frame.truth.depth)
        result = client.segment(frame.image, "chair")
        np.testing.assert_array_equal(result.boxes, [[30, 21, 90, 60], [15, 100, 45, 150]])
        assert client.detect(frame.image, ["table"]).labels == ["table"]
        with pytest.raises(ExpertRequestError, match="no ground truth"):
            client.depth(np.full((16, 16, 3), 9, dtype=np.uint8))
    with ExpertsClient(f"127.0.0.1:{free_port()}", protocol="http", timeout_s=2.0, retries=1, backoff_s=0.01) as client:
        assert not client.ready()
        with pytest.raises(ExpertUnavailable):
            client.depth(frame.image)
        assert client.stats.retries == 1
    with pytest.raises(ValueError, match="protocol"):
        ExpertsClient("127.0.0.1:1", protocol="carrier-pigeon")


def test_cache_round_trip_keeps_dtypes_and_strings(tmp_path):
    cache = ResultCache(tmp_path)
    outputs = {
        "DEPTH": np.arange(6, dtype=np.float32).reshape(1, 2, 3),
        "MASKS": np.array([[True, False]]),
        "META": np.array([b'{"a": 1}'], dtype=np.object_),
    }
    key = cache_key("depth", "1", "cfg", {"IMAGE": np.zeros((2, 3, 3), np.uint8)}, list(outputs))
    assert cache.get(key) is None
    cache.put(key, outputs)
    restored = cache.get(key)
    for name, value in outputs.items():
        assert restored[name].dtype == value.dtype and restored[name].shape == value.shape
        np.testing.assert_array_equal(restored[name], value)
    assert list(tmp_path.rglob("*.tmp")) == []


def test_cache_key_covers_model_version_config_inputs_and_outputs():
    image = np.zeros((2, 3, 3), np.uint8)
    base = cache_key("depth", "1", "cfg", {"IMAGE": image}, ["DEPTH"])
    changed_pixel = image.copy()
    changed_pixel[0, 0, 0] = 1
    variants = [
        cache_key("detection", "1", "cfg", {"IMAGE": image}, ["DEPTH"]),
        cache_key("depth", "2", "cfg", {"IMAGE": image}, ["DEPTH"]),
        cache_key("depth", "1", "noisy", {"IMAGE": image}, ["DEPTH"]),
        cache_key("depth", "1", "cfg", {"IMAGE": changed_pixel}, ["DEPTH"]),
        cache_key("depth", "1", "cfg", {"IMAGE": image.reshape(3, 2, 3)}, ["DEPTH"]),
        cache_key("depth", "1", "cfg", {"IMAGE": image, "PROMPT": np.array([b"chair"], np.object_)}, ["DEPTH"]),
        cache_key("depth", "1", "cfg", {"IMAGE": image}, ["DEPTH", "META"]),
    ]
    assert len({base, *variants}) == 8
    assert cache_key("depth", "1", "cfg", {"IMAGE": image.copy()}, ["DEPTH"]) == base


def _hammer(root: str, key: str, seed: int) -> None:
    cache = ResultCache(root)
    value = {"DEPTH": np.full((64, 64), 1.5, np.float32), "META": np.array([b"same"], dtype=np.object_)}
    for _ in range(30):
        cache.put(key, value)
        got = cache.get(key)
        assert got is None or (got["DEPTH"] == 1.5).all()


def test_concurrent_processes_share_one_cache_entry(tmp_path):
    key = "ab" + "0" * 62
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_hammer, args=(str(tmp_path), key, seed)) for seed in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [process.exitcode for process in processes] == [0, 0, 0]
    assert (ResultCache(tmp_path).get(key)["DEPTH"] == 1.5).all()
    assert [path.name for path in tmp_path.rglob("*") if path.is_file()] == [f"{key}.npz"]


@pytest.mark.integration
def test_client_cache_answers_repeated_frames_without_the_server(triton_server, oracle_frames, tmp_path):
    frame = oracle_frames["a0"]
    with ExpertsClient(triton_server.grpc_url, timeout_s=10.0, cache_dir=tmp_path) as client:
        first = client.depth(frame.image)
        again = client.depth(frame.image)
        assert client.stats.server_calls == 1 and client.stats.cache_hits == 1
        np.testing.assert_array_equal(first.depth, again.depth)
        assert again.meta == first.meta and again.depth.flags.writeable
        client.segment(frame.image, "chair")
        client.segment(frame.image, "table")  # other parameters: another entry
        client.segment(frame.image, "chair")
        assert client.stats.server_calls == 3 and client.stats.cache_hits == 2
    with ExpertsClient(triton_server.grpc_url, timeout_s=10.0, cache_dir=tmp_path) as other_process_client:
        result = other_process_client.segment(frame.image, "chair")
        assert other_process_client.stats.server_calls == 0 and other_process_client.stats.cache_hits == 1
        np.testing.assert_array_equal(result.masks[0], frame.truth.instances == 1)
