"""The `tritonserver` binary of the experts' virtualenv, and the model repository it serves.

The binary ships in the `nvidia-pytriton` wheel with only the Python backend; the backend stub
must run the experts' own interpreter (numpy 1.26), so the environment is built from that
virtualenv (see DESIGN.md, "Triton on CPU"). Models are configured per launch through a
config override that carries the launch parameters (e.g. `oracle_root`).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from skill3d_eval.experts.errors import ExpertServerError

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


@functools.cache
def server_options(installation: TritonInstallation) -> str:
    """`tritonserver --help`, to pass options only a newer Triton knows."""
    command = [str(installation.binary), "--help"]
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=installation.environment())
    return result.stdout + result.stderr
