"""Launch the Triton server from the experts' virtualenv on a plain model repository (CPU).

The `tritonserver` binary shipped in the `nvidia-pytriton` wheel runs our repository with its
Python backend; the backend stub must run the experts' own interpreter (numpy 1.26), so the
launcher builds the process environment from that virtualenv (see DESIGN.md, "Triton on CPU").
Models are loaded one by one through the explicit model-control API with a config override
that carries the launch parameters (e.g. `oracle_root`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
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
from skill3d_eval.settings import EXPERTS_VENV, MODEL_REPOSITORY

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback probes only


@dataclass(frozen=True)
class TritonInstallation:
    """Where the experts' virtualenv keeps Triton and its Python."""

    venv: Path
    site_packages: Path
    python_libdir: Path
    python_version: str  # "3.11"

    @property
    def tritonserver_dir(self) -> Path:
        return self.site_packages / "pytriton" / "tritonserver"

    @property
    def binary(self) -> Path:
        return self.tritonserver_dir / "bin" / "tritonserver"

    @property
    def bundled_libs(self) -> Path:
        return self.site_packages / "nvidia_pytriton.libs"

    @classmethod
    def locate(cls, venv: Path) -> TritonInstallation:
        python = venv / "bin" / "python"
        if not python.exists():
            raise ExpertServerError(f"experts virtualenv {venv} has no bin/python (run `make setup`)")
        probe = (
            "import json, sys, sysconfig; print(json.dumps([sysconfig.get_paths()['purelib'], "
            "sysconfig.get_config_var('LIBDIR'), '%d.%d' % sys.version_info[:2]]))"
        )
        result = subprocess.run(
            [str(python), "-c", probe], capture_output=True, text=True, check=False, env=_clean_env()
        )
        if result.returncode != 0:
            raise ExpertServerError(f"cannot query {python}: {result.stderr.strip()}")
        purelib, libdir, version = json.loads(result.stdout)
        found = cls(venv=venv, site_packages=Path(purelib), python_libdir=Path(libdir), python_version=version)
        if not found.binary.is_file():
            raise ExpertServerError(f"{found.binary} not found: install nvidia-pytriton into {venv}")
        return found

    def assemble_backends(self, directory: Path) -> Path:
        """A backend directory `<directory>/python/` holding the Python backend and the stub for this Python."""
        python_dir = directory / "python"
        python_dir.mkdir(parents=True, exist_ok=True)
        backend = self.tritonserver_dir / "backends" / "python"
        stub = self.tritonserver_dir / "python_backend_stubs" / self.python_version / "triton_python_backend_stub"
        for source in (backend / "libtriton_python.so", backend / "triton_python_backend_utils.py", stub):
            shutil.copy2(source, python_dir / source.name)
        return directory

    def environment(self) -> dict[str, str]:
        env = _clean_env()
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.venv)
        # Without the bundled libs the model load hangs; without LIBDIR the stub mixes two Pythons.
        library_path = [str(self.bundled_libs), str(self.python_libdir)]
        if env.get("LD_LIBRARY_PATH"):
            library_path.append(env["LD_LIBRARY_PATH"])
        env["LD_LIBRARY_PATH"] = os.pathsep.join(library_path)
        return env


def _clean_env() -> dict[str, str]:
    """The caller's environment minus what would leak the evaluator's Python into the models'."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    return {key: value for key, value in os.environ.items() if key not in drop}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def model_names(repository: Path) -> list[str]:
    """Every model directory (one holding a config.pbtxt) of a repository, sorted."""
    return sorted(path.parent.name for path in repository.glob("*/config.pbtxt"))


def config_override(config_pbtxt: Path, parameters: Mapping[str, str]) -> str:
    """The model's config.pbtxt with `parameters` set, as the JSON the load API takes."""
    from google.protobuf import json_format, text_format
    from tritonclient.grpc import model_config_pb2

    config = text_format.Parse(config_pbtxt.read_text(), model_config_pb2.ModelConfig())
    for key, value in parameters.items():
        config.parameters[key].string_value = str(value)
    return json_format.MessageToJson(config, preserving_proto_field_name=True)


class TritonServer:
    """A `tritonserver` process serving `repository` (context manager; `stop()` is idempotent).

    `parameters` are string config parameters set on every loaded model (e.g. `oracle_root`).
    URLs: `grpc_url` / `http_url` are `host:port` as tritonclient takes them; `metrics_url` is
    the full Prometheus URL.
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
    ):
        self.repository = Path(repository).resolve()
        self.experts_venv = Path(experts_venv).resolve()
        self.models = list(models) if models is not None else model_names(self.repository)
        self.parameters = dict(parameters or {})
        self.startup_timeout_s = startup_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self._ports = {"http": http_port, "grpc": grpc_port, "metrics": metrics_port}
        self._requested_log = Path(log_file) if log_file is not None else None
        self._process: subprocess.Popen | None = None
        self._workdir: tempfile.TemporaryDirectory | None = None
        self.log_file: Path | None = None
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
        self._workdir = tempfile.TemporaryDirectory(prefix="skill3d-triton-")
        workdir = Path(self._workdir.name)
        try:
            backends = installation.assemble_backends(workdir / "backends")
            self.log_file = self._requested_log or workdir / "tritonserver.log"
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._launch_until_ready(installation, backends)
            for name in self.models:
                self._load(name)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - began
        return self

    def _launch_until_ready(self, installation: TritonInstallation, backends: Path) -> None:
        """Launch and wait for readiness; free ports picked here may be taken meanwhile: retry those."""
        requested = dict(self._ports)
        for attempt in range(3):
            self._ports = {kind: port if port is not None else free_port() for kind, port in requested.items()}
            self._launch(installation, backends)
            try:
                self._wait_ready()
                return
            except ExpertServerError as error:
                port_taken = "already in use" in error.log_tail
                if attempt == 2 or not port_taken or None not in requested.values():
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
        ]
        with open(self.log_file, "ab") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=installation.environment(),
                cwd=self._workdir.name,
                start_new_session=True,  # its own process group: stop() also reaches the backend stubs
            )

    def _wait_ready(self) -> None:
        deadline = self._deadline
        url = f"http://{self.http_url}/v2/health/ready"
        while True:
            if self._process.poll() is not None:
                raise ExpertServerError(
                    f"tritonserver exited with code {self._process.returncode} during startup", log_tail=self.log_tail()
                )
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

    def _load(self, name: str) -> None:
        import tritonclient.grpc as grpcclient
        from tritonclient.utils import InferenceServerException

        config = config_override(self.repository / name / "config.pbtxt", self.parameters)
        remaining = max(1.0, self._deadline - time.monotonic())
        with grpcclient.InferenceServerClient(self.grpc_url) as client:
            try:
                client.load_model(name, config=config, client_timeout=remaining)
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
        """Unload the models, SIGTERM, then SIGKILL the process group after `stop_timeout_s`. Idempotent."""
        if self._process is not None and self._process.poll() is None:
            self._unload_all(self._process)
        self._kill()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

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
        import tritonclient.grpc as grpcclient
        from tritonclient.utils import InferenceServerException

        deadline = time.monotonic() + self.stop_timeout_s

        def remaining() -> float:
            return max(0.1, deadline - time.monotonic())

        try:
            with grpcclient.InferenceServerClient(self.grpc_url) as client:
                for name in self.models:
                    client.unload_model(name, client_timeout=remaining())
                while process.poll() is None and time.monotonic() < deadline:
                    index = client.get_model_repository_index(as_json=True, client_timeout=remaining())
                    busy = [m for m in index.get("models", []) if m.get("state") in ("READY", "LOADING", "UNLOADING")]
                    if not busy:
                        return
                    time.sleep(0.02)
        except InferenceServerException:
            pass  # SIGTERM (then SIGKILL) follows anyway

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
