"""Launch the Triton server from the experts' virtualenv on a plain model repository (CPU).

The binary and its environment come from `installation.py`. Models are loaded one by one
through the explicit model-control API with a config override that carries the launch
parameters (e.g. `oracle_root`).

Lifecycle: each server gets a private work directory (backends, default log) and its own
shared-memory prefix, and a watchdog sidecar (`watchdog.py`) that kills the server and removes
both when the harness dies, even by SIGKILL. Ports: see `ports.py` (fresh ports on a bind failure).

A team server (`GrpcSecurity`) is asked for TLS and a header on gRPC, which Triton does itself;
the server's own control calls (load, unload, repository index) go over HTTP on 127.0.0.1, which
carries neither, so the harness needs no client certificate or token of its own.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from skill3d_eval.experts.errors import ExpertServerError
from skill3d_eval.experts.installation import TritonInstallation, config_override, model_names, server_options
from skill3d_eval.experts.ports import assign_ports, free_port, is_bind_failure, listening_ports
from skill3d_eval.experts.stubs import live_instances
from skill3d_eval.experts.watchdog import Watchdog
from skill3d_eval.settings import EXPERTS_VENV, MODEL_REPOSITORY

__all__ = ["GrpcSecurity", "TritonInstallation", "TritonServer", "config_override", "free_port", "model_names", "oracle_server"]

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback probes only
DEFAULT_MAX_INPUT_BYTES = 256 * 2**20  # a request's bytes; 32 views of 1280×720 RGB fit in 85 MiB
# Triton's gRPC protocol groups (2.51); health stays open so that load balancers can probe.
RESTRICTABLE_PROTOCOLS = (
    "metadata", "inference", "shared-memory", "model-config", "model-repository", "statistics", "trace", "logging",
)


@dataclass(frozen=True)
class GrpcSecurity:
    """What a server shared by a team asks of its gRPC clients, with Triton's own options:
    TLS with `certificate`/`private_key` (PEM), client certificates signed by `client_ca` when
    given (mutual TLS), and a `header` (name, value) on every protected protocol group, e.g.
    ("authorization", "Bearer <token>"). Triton has no user accounts: the header is one shared
    secret, as a proxy's API key would be."""

    certificate: Path
    private_key: Path
    client_ca: Path | None = None
    header: tuple[str, str] | None = None
    protocols: tuple[str, ...] = RESTRICTABLE_PROTOCOLS

    def __post_init__(self) -> None:
        for name in ("certificate", "private_key", "client_ca"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ExpertServerError(f"gRPC TLS {name.replace('_', ' ')} {path}: no such file")
        unknown = sorted(set(self.protocols) - set(RESTRICTABLE_PROTOCOLS))
        if unknown:
            raise ExpertServerError(f"unknown gRPC protocol group(s) {unknown}; Triton's are {list(RESTRICTABLE_PROTOCOLS)}")

    def options(self) -> list[str]:
        options = [
            f"--grpc-server-cert={Path(self.certificate).resolve()}",
            f"--grpc-server-key={Path(self.private_key).resolve()}",
        ]
        if self.client_ca is not None:
            options += ["--grpc-use-ssl-mutual=true", f"--grpc-root-cert={Path(self.client_ca).resolve()}"]
        else:
            options.append("--grpc-use-ssl=true")
        if self.header is not None:
            name, value = self.header
            options.append(f"--grpc-restricted-protocol={','.join(self.protocols)}:{name.lower()}={value}")
        return options


class TritonServer:
    """A `tritonserver` process serving `repository` (context manager; `stop()` is idempotent).

    `parameters` are string config parameters set on every loaded model (e.g. `oracle_root`).
    URLs: `grpc_url` / `http_url` are `host:port` as tritonclient takes them; `metrics_url` is
    the full Prometheus URL. `max_input_bytes` bounds a request's size where the binary has
    `--http-max-input-size` (later Tritons); 2.51 has no such option and relies on its check
    that the declared shapes match the bytes sent (see experts_triton/README.md).
    """

    def __init__(
        self,
        repository: Path,
        experts_venv: Path,
        *,
        models: Sequence[str] | None = None,
        parameters: Mapping[str, str] | None = None,
        log_file: Path | None = None,
        http_port: int | None = None,
        grpc_port: int | None = None,
        metrics_port: int | None = None,
        startup_timeout_s: float = 60.0,
        stop_timeout_s: float = 15.0,
        max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES,
        grpc_security: GrpcSecurity | None = None,
    ):
        self.repository = Path(repository).resolve()
        self.experts_venv = Path(experts_venv).resolve()
        self.models = list(models) if models is not None else model_names(self.repository)
        self.parameters = dict(parameters or {})
        self.startup_timeout_s = startup_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.max_input_bytes = max_input_bytes
        self.grpc_security = grpc_security
        self._ports = {"http": http_port, "grpc": grpc_port, "metrics": metrics_port}
        self._requested_log = Path(log_file) if log_file is not None else None
        self._process: subprocess.Popen | None = None
        self._watchdog: Watchdog | None = None
        self._instances: dict[str, str] = {}  # backend stub instance name -> model, as loaded
        self.workdir: Path | None = None  # private: backends, default log; removed on stop or by the watchdog
        self.shm_prefix = ""  # the Python backend's /dev/shm regions are named <shm_prefix><uuid>
        self.log_file: Path | None = None
        self.port_attempts = 0  # launches it took to bind free ports (1 unless a port was taken)
        self.startup_s: float | None = None  # start() → ready with every model loaded, seconds
        self._deadline = 0.0

    # -- addresses ---------------------------------------------------------------------------
    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self._port('grpc')}"

    @property
    def http_url(self) -> str:
        return f"127.0.0.1:{self._port('http')}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self._port('metrics')}/metrics"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def exit_code(self) -> int | None:
        """The server's exit status once it has exited on its own (negative: killed by that signal)."""
        return self._process.poll() if self._process else None

    def _port(self, kind: str) -> int:
        port = self._ports[kind]
        if port is None:
            raise RuntimeError("the server has not been started")
        return port

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> Self:
        if self._process is not None:
            raise RuntimeError("the server is already running")
        began = time.monotonic()
        self._deadline = began + self.startup_timeout_s
        missing = [name for name in self.models if not (self.repository / name / "config.pbtxt").is_file()]
        if missing:
            raise ExpertServerError(f"no config.pbtxt for {missing} in {self.repository}", model=missing[0])
        installation = TritonInstallation.locate(self.experts_venv)
        self.workdir = Path(tempfile.mkdtemp(prefix="skill3d-triton-"))
        self.shm_prefix = f"skill3d_{self.workdir.name.rsplit('-', 1)[-1]}_"
        try:
            self.log_file = self._requested_log or self.workdir / "tritonserver.log"
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_file, "ab") as log:
                self._watchdog = Watchdog(self.workdir, self.shm_prefix, log=log)
            backends = installation.assemble_backends(self.workdir / "backends")
            self._launch_until_ready(installation, backends)
            for name in self.models:
                self._load(name, self._deadline - time.monotonic())
            self._instances = live_instances(self._process.pid)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - began
        return self

    def _launch_until_ready(self, installation: TritonInstallation, backends: Path, attempts: int = 5) -> None:
        """Launch and wait for readiness; a free port picked here may be taken before the server
        binds it: on any bind failure, launch again on fresh ones (explicit ports are kept)."""
        requested = dict(self._ports)
        for attempt in range(1, attempts + 1):
            self._ports = assign_ports(requested)
            self.port_attempts = attempt
            launched_at = self.log_file.stat().st_size if self.log_file.exists() else 0
            self._launch(installation, backends)
            try:
                self._wait_ready()
                return
            except ExpertServerError:
                if attempt == attempts or None not in requested.values() or not is_bind_failure(self._log_since(launched_at)):
                    raise
                self._kill()

    def _launch(self, installation: TritonInstallation, backends: Path) -> None:
        ports = self._ports
        command = [
            str(installation.binary),
            f"--model-repository={self.repository}",
            "--model-control-mode=explicit",
            "--disable-auto-complete-config",
            f"--backend-directory={backends}",
            f"--cache-directory={installation.tritonserver_dir / 'caches'}",
            "--http-address=127.0.0.1",
            f"--http-port={ports['http']}",
            "--grpc-address=127.0.0.1",
            f"--grpc-port={ports['grpc']}",
            "--metrics-address=127.0.0.1",
            f"--metrics-port={ports['metrics']}",
            "--allow-gpu-metrics=false",
            "--exit-timeout-secs=5",
            # Named regions, so that the watchdog can remove them when the server was killed.
            f"--backend-config=python,shm-region-prefix-name={self.shm_prefix}",
        ]
        if "--http-max-input-size" in server_options(installation):
            command.append(f"--http-max-input-size={self.max_input_bytes}")
        if self.grpc_security is not None:
            command += self.grpc_security.options()
        with open(self.log_file, "ab") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=installation.environment(),
                cwd=self.workdir,
                start_new_session=True,  # its own process group: stop() also reaches the backend stubs
            )

    def _wait_ready(self) -> None:
        """Until the process we started listens on all its ports (a readiness answer from a port it
        failed to bind would come from someone else's server) and answers ready."""
        deadline = self._deadline
        url = f"http://{self.http_url}/v2/health/ready"
        while True:
            if self._process.poll() is not None:
                raise ExpertServerError(
                    f"tritonserver exited with code {self._process.returncode} during startup", log_tail=self.log_tail()
                )
            listening = listening_ports(self._process.pid)
            if listening is None or set(self._ports.values()) <= listening:
                try:
                    with _NO_PROXY.open(url, timeout=1.0) as response:
                        if response.status == 200:
                            return
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
            if time.monotonic() > deadline:
                raise ExpertServerError(
                    f"tritonserver not ready after {self.startup_timeout_s:g} s", log_tail=self.log_tail()
                )
            time.sleep(0.05)

    def _control(self, timeout_s: float):
        """A client for load / unload / the repository index, over HTTP on the loopback (see the
        module docstring); `timeout_s` bounds each call."""
        import tritonclient.http as httpclient

        return httpclient.InferenceServerClient(self.http_url, connection_timeout=timeout_s, network_timeout=timeout_s)

    def _load(self, name: str, timeout_s: float) -> None:
        from tritonclient.utils import InferenceServerException

        config = config_override(self.repository / name / "config.pbtxt", self.parameters)
        with self._control(max(1.0, timeout_s)) as client:
            try:
                client.load_model(name, config=config)
            except InferenceServerException as error:
                if self._process.poll() is not None:
                    raise ExpertServerError(
                        f"tritonserver died while loading model {name!r}", model=name, log_tail=self.log_tail()
                    ) from None
                raise ExpertServerError(
                    f"model {name!r} failed to load: {error.message()}", model=name, log_tail=self.log_tail()
                ) from None

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        """Unload the models, SIGTERM, then SIGKILL the process group after `stop_timeout_s`;
        remove the work directory and shared memory. Idempotent."""
        if self._process is not None and self._process.poll() is None:
            self._unload_all(self._process)
        self._kill()
        if self._watchdog is not None:
            self._watchdog.close()  # its sweep removes shared memory left by a killed server, and the workdir
            self._watchdog = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                pass
        _kill_group(process.pid)  # backend stubs left behind, or the server itself after the timeout
        process.wait()

    def _unload_all(self, process: subprocess.Popen) -> None:
        """Unload the models and wait until they are gone: Triton's own SIGTERM path polls live
        models once a second, so this halves the shutdown time. Best effort, bounded."""
        from tritonclient.utils import InferenceServerException

        deadline = time.monotonic() + self.stop_timeout_s
        try:
            with self._control(self.stop_timeout_s) as client:
                for name in self.models:
                    client.unload_model(name)
                while process.poll() is None and time.monotonic() < deadline:
                    index = client.get_model_repository_index()
                    busy = [m for m in index if m.get("state") in ("READY", "LOADING", "UNLOADING")]
                    if not busy:
                        return
                    time.sleep(0.02)
        except (InferenceServerException, ConnectionError, OSError):
            pass  # SIGTERM (then SIGKILL) follows anyway

    # -- backend stubs -------------------------------------------------------------------------
    def dead_models(self) -> list[str]:
        """Loaded models one of whose backend stubs died while the server lives (see `stubs.py`):
        Triton keeps them READY but fails every request until they are loaded again. (A model
        a client unloaded through the API has lost its stubs too, but is no longer READY.)"""
        if not self.running():
            return []
        live = live_instances(self._process.pid)
        stubless = {model for instance, model in self._instances.items() if instance not in live}
        if not stubless:
            return []
        from tritonclient.utils import InferenceServerException

        try:
            with self._control(10.0) as client:
                index = client.get_model_repository_index()
        except (InferenceServerException, ConnectionError, OSError):
            return []  # the server is going down: `running()` will say so
        return sorted(m["name"] for m in index if m.get("name") in stubless and m.get("state") == "READY")

    def reload(self, name: str, timeout_s: float = 60.0) -> None:
        """Unload `name` and load it again with the launch parameters (a load of a READY model with
        the same config is a no-op). The version with the dead stub stays UNLOADING for good (its
        stub never answers), which costs `stop()` Triton's exit timeout (5 s); the new one serves."""
        from tritonclient.utils import InferenceServerException

        with self._control(timeout_s) as client:
            try:
                client.unload_model(name)
            except InferenceServerException as error:
                raise ExpertServerError(f"cannot unload model {name!r}: {error.message()}", model=name) from None
        self._load(name, timeout_s)
        self._instances = {i: m for i, m in self._instances.items() if m != name}
        self._instances.update({i: m for i, m in live_instances(self._process.pid).items() if m == name})

    def _log_since(self, offset: int) -> str:
        with open(self.log_file, "rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", errors="replace")

    def log_tail(self, lines: int = 25) -> str:
        """The last `lines` lines of the server log, without its ASCII tables."""
        if self.log_file is None or not self.log_file.exists():
            return ""
        with open(self.log_file, "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 64 * 1024))
            text = log.read().decode("utf-8", errors="replace")
        kept = [line for line in text.splitlines() if line.strip() and not line.startswith(("+", "|"))]
        return "\n".join(kept[-lines:])


def _kill_group(pgid: int) -> None:
    """SIGKILL whatever is left of the server's process group (backend stubs included)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def oracle_server(oracle_root: Path, **kwargs: object) -> TritonServer:
    """A server of this checkout's model repository, oracle backends reading `oracle_root`.

    Keyword arguments go to `TritonServer` (models, log_file, ports, ...).
    """
    parameters = {"backend": "oracle", "oracle_root": str(Path(oracle_root).resolve())}
    parameters.update(kwargs.pop("parameters", None) or {})  # type: ignore[arg-type]
    return TritonServer(MODEL_REPOSITORY, EXPERTS_VENV, parameters=parameters, **kwargs)  # type: ignore[arg-type]
