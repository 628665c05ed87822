"""The local Triton's lifecycle under faults, through real servers and real processes.

A harness killed by SIGKILL or SIGTERM takes its server along (no `tritonserver`, temp dir or
/dev/shm region left within 10 s); `experts serve` exits non-zero when its server dies; a
request declaring a huge shape is refused while the server stays up, and one whose byte count
overflows (which kills the model's backend stub in Triton 2.51) is followed by `experts serve`
loading that model again; concurrent starts never fail on port binding.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from skill3d_eval.evaluate import lmms_eval_command
from skill3d_eval.experts import ExpertError, ExpertsClient, oracle_server
from skill3d_eval.experts import server as server_module
from skill3d_eval.experts.ports import free_port
from skill3d_eval.experts.watchdog import processes_using
from tests.experts.conftest import OracleFrames, write_oracle_frames

pytestmark = pytest.mark.integration

GONE_WITHIN_S = 10.0
CLI = str(Path(sys.executable).parent / "skill3d-eval")
HARNESS = """
import json, sys, time
from skill3d_eval.experts import oracle_server
server = oracle_server(sys.argv[1], models=["depth", "segmentation"]).start()
print(json.dumps({"pid": server.pid, "workdir": str(server.workdir), "shm_prefix": server.shm_prefix}), flush=True)
time.sleep(600)
"""


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> OracleFrames:
    return write_oracle_frames(tmp_path_factory.mktemp("oracle"))


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent that may never reap it."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _group(pgid: int) -> list[int]:
    """Live members of a process group (the server and its backend stubs)."""
    members = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def _regions(prefix: str) -> list[Path]:
    return sorted(Path("/dev/shm").glob(f"{prefix}*"))


def _children(pid: int, name: str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as stat:
                    text = stat.read()
            except OSError:
                continue
            comm, rest = text.split("(", 1)[1].rsplit(")", 1)
            if comm == name and int(rest.split()[1]) == pid and rest.split()[0] != "Z":
                found.append(int(entry.name))
    return found


@dataclass(frozen=True)
class StartedServer:
    """What the test learns about the server a harness started."""

    pid: int
    workdir: Path
    shm_prefix: str


def _option(argv: list[str], name: str) -> str | None:
    return next((arg.split("=", 1)[1] for arg in argv if arg.startswith(f"--{name}=")), None)


def _server_of(harness_pid: int) -> StartedServer | None:
    """The running tritonserver child of `harness_pid`, read from its command line (None: none
    yet, or one exiting, e.g. a launch retried on fresh ports)."""
    for pid in _children(harness_pid, "tritonserver"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                argv = [arg.decode() for arg in cmdline.read().split(b"\0") if arg]
        except OSError:
            continue
        backends, config = _option(argv, "backend-directory"), _option(argv, "backend-config")
        if backends and config:
            return StartedServer(pid, Path(backends).parent, config.split("shm-region-prefix-name=", 1)[1])
    return None


def _wait_until(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:g} s: {what}")
        time.sleep(0.1)


def _assert_cleaned_up(pid: int, workdir: Path, shm_prefix: str) -> None:
    """Within 10 s: no process of the server's group, no process run from its workdir, no
    workdir, no shared-memory region."""
    _wait_until(lambda: not _group(pid) and not processes_using(workdir), GONE_WITHIN_S, f"tritonserver {pid} and its stubs gone")
    _wait_until(lambda: not workdir.exists(), GONE_WITHIN_S, f"{workdir} removed")
    _wait_until(lambda: not _regions(shm_prefix), GONE_WITHIN_S, f"/dev/shm/{shm_prefix}* removed")


@contextlib.contextmanager
def _harness(command: list[str], **popen: object) -> Iterator[tuple[subprocess.Popen, list[StartedServer]]]:
    """Run a harness; afterwards, whatever happened, leave no harness and none of the servers
    the test appended to the list behind."""
    process = subprocess.Popen(command, **popen)
    servers: list[StartedServer] = []
    try:
        yield process, servers
    finally:
        process.kill()
        process.wait()
        for server in servers:
            for leftover in [*_group(server.pid), *processes_using(server.workdir)]:
                try:
                    os.kill(leftover, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _kill_and_expect_cleanup(harness: subprocess.Popen, signum: int, server: StartedServer) -> None:
    harness.send_signal(signum)
    harness.wait(timeout=30)
    _assert_cleaned_up(server.pid, server.workdir, server.shm_prefix)


# -- the harness dies -----------------------------------------------------------------------
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_harness_takes_its_server_along(frames, signum):
    with _harness([sys.executable, "-c", HARNESS, str(frames.root)], stdout=subprocess.PIPE, text=True) as (harness, servers):
        started = json.loads(harness.stdout.readline())
        server = StartedServer(started["pid"], Path(started["workdir"]), started["shm_prefix"])
        servers.append(server)
        assert _alive(server.pid) and server.workdir.is_dir() and _regions(server.shm_prefix), "a running server with its shm regions"
        _kill_and_expect_cleanup(harness, signum, server)


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_lmms_eval_killed_mid_run_leaves_no_server(synth_root, tmp_path, signum):
    """The real CLI (`--model skill3d`, program policy, no triton_url: it starts its own Triton)."""
    command = lmms_eval_command(["spatial_synth"], {"policy": "program", "output_dir": tmp_path / "runs", "run_name": "killed"}, tmp_path / "out", limit=200)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    log = tmp_path / "lmms_eval.log"
    with log.open("wb") as output, _harness(command, env=env, stdout=output, stderr=subprocess.STDOUT) as (harness, servers):
        _wait_until(lambda: _server_of(harness.pid) or harness.poll() is not None, 120, "lmms-eval starts a Triton")
        assert harness.poll() is None, log.read_text()[-3000:]
        server = _server_of(harness.pid)
        servers.append(server)
        trajectories = tmp_path / "runs" / "killed" / "trajectories.jsonl"
        _wait_until(lambda: trajectories.is_file() and trajectories.stat().st_size > 0, 120, "a first answered sample")
        assert harness.poll() is None, "still mid-run when killed"
        _kill_and_expect_cleanup(harness, signum, server)


# -- the server dies under `experts serve` ----------------------------------------------------
def test_serve_exits_nonzero_when_its_server_dies(frames):
    serve = subprocess.Popen(
        [CLI, "experts", "serve", "--oracle-root", str(frames.root), "--models", "depth"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert "triton gRPC" in serve.stdout.readline()
        started = _server_of(serve.pid)
        pid, workdir = started.pid, started.workdir
        os.kill(pid, signal.SIGKILL)
        assert serve.wait(timeout=30) != 0
        stderr = serve.stderr.read()
        assert f"tritonserver (pid {pid}) died" in stderr and "SIGKILL" in stderr, stderr
        assert not _group(pid) and not workdir.exists()
    finally:
        serve.kill()
        serve.wait()


# -- a request declaring a huge shape ---------------------------------------------------------
SENT = np.zeros((1, 4, 4, 3), np.uint8)  # 48 bytes
OVERFLOWING = [1, 2**62 + 4, 4, 3]  # 2**64·3 + 48 bytes declared: 48 once the byte count overflows


def _declaring(protocol: str, url: str, shape: list[int]) -> InferenceServerException:
    """Send 48 bytes to `depth` under a declared `shape` (what a hostile or buggy client does)."""
    if protocol == "grpc":
        with grpcclient.InferenceServerClient(url) as client:
            tensor = grpcclient.InferInput("IMAGE", list(SENT.shape), "UINT8")
            tensor.set_data_from_numpy(SENT)
            tensor._input.shape[:] = shape
            with pytest.raises(InferenceServerException) as raised:
                client.infer("depth", [tensor], client_timeout=30)
    else:
        with httpclient.InferenceServerClient(url, network_timeout=30) as client:
            tensor = httpclient.InferInput("IMAGE", list(SENT.shape), "UINT8")
            tensor.set_data_from_numpy(SENT, binary_data=True)
            tensor._shape = shape
            with pytest.raises(InferenceServerException) as raised:
                client.infer("depth", [tensor])
    return raised.value


def _answers(protocol: str, url: str, frames: OracleFrames) -> bool:
    with ExpertsClient(url, protocol=protocol, timeout_s=10.0, retries=0) as experts:
        try:
            return experts.depth(frames["a0"].image).depth.shape == frames["a0"].image.shape[:2]
        except ExpertError:  # "Stub process 'depth_0_0' is not healthy", until the model is loaded again
            return False


def test_a_huge_declared_shape_is_refused_and_the_server_stays_up(frames, tmp_path):
    with oracle_server(frames.root, models=["depth"], log_file=tmp_path / "triton.log") as server:
        for protocol, url in (("grpc", server.grpc_url), ("http", server.http_url)):
            refused = _declaring(protocol, url, [1, 100_000, 100_000, 3])  # 30 GB declared
            assert "byte size mismatch" in refused.message() and "Expected 30000000000, got 48" in refused.message()
            assert server.running() and _answers(protocol, url, frames)


def test_serve_reloads_a_model_whose_stub_an_overflowing_shape_killed(frames, tmp_path):
    """Triton 2.51 lets this one through to the Python backend, whose stub dies; `experts serve`
    sees the dead stub and loads the model again, so the shared server answers again."""
    stderr = tmp_path / "serve.stderr"
    with stderr.open("w") as errors:
        serve = subprocess.Popen(
            [CLI, "experts", "serve", "--oracle-root", str(frames.root), "--models", "depth"],
            stdout=subprocess.PIPE, stderr=errors, text=True,
        )
    try:
        endpoints = serve.stdout.readline().split()
        urls = {"grpc": endpoints[2], "http": endpoints[4]}
        for protocol, url in urls.items():
            assert _answers(protocol, url, frames)
            assert "not healthy" in _declaring(protocol, url, OVERFLOWING).message()
            _wait_until(lambda p=protocol, u=url: _answers(p, u, frames), 30, f"depth answers over {protocol} again")
        assert serve.poll() is None
        assert stderr.read_text().count("model 'depth': loaded again") == 2, stderr.read_text()
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=60)
        finally:
            serve.kill()
            serve.wait()
    assert serve.returncode == 0


# -- ports ----------------------------------------------------------------------------------
class _ReadyForAnyone(http.server.BaseHTTPRequestHandler):
    """A foreign server on "our" port that answers every readiness probe with 200."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_taken_or_duplicated_port_is_retried_with_fresh_ones(frames, monkeypatch, tmp_path):
    foreign = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _ReadyForAnyone)
    threading.Thread(target=foreign.serve_forever, daemon=True).start()
    taken = foreign.server_address[1]
    duplicate = free_port()
    first_picks = [
        {"http": taken, "grpc": free_port(), "metrics": free_port()},  # someone else's port (and readiness)
        {"http": duplicate, "grpc": duplicate, "metrics": free_port()},  # the same port twice
    ]
    assign = server_module.assign_ports
    monkeypatch.setattr(server_module, "assign_ports", lambda requested: first_picks.pop(0) if first_picks else assign(requested))
    try:
        with oracle_server(frames.root, models=["depth"], log_file=tmp_path / "triton.log") as server:
            assert server.port_attempts == 3
            assert {f"127.0.0.1:{taken}", f"127.0.0.1:{duplicate}"}.isdisjoint({server.http_url, server.grpc_url})
            with ExpertsClient(server.grpc_url, timeout_s=10.0) as experts:
                assert experts.depth(frames["a0"].image).depth.shape == frames["a0"].image.shape[:2]
        log = (tmp_path / "triton.log").read_text()
        assert "already in use" in log and "same address and port" in log
    finally:
        foreign.shutdown()
        foreign.server_close()


def test_concurrent_starts_never_fail_on_port_binding(frames):
    def start_and_stop(_: int) -> set[str]:
        with oracle_server(frames.root, models=[]) as server:  # a bind failure would raise here
            return {server.http_url, server.grpc_url, server.metrics_url.split("/")[2]}

    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            addresses = list(pool.map(start_and_stop, range(4)))
            assert len(set().union(*addresses)) == 12, "three distinct ports per server, none shared"
