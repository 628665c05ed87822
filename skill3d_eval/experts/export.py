"""Turn a checkpoint into a new version of a model in a Triton repository (artifact + config).

`export_model("depth", checkpoint_dir, repository)` copies the checkpoint into
`<repository>/depth/<n+1>/checkpoint/` next to that version's `model.py` shim, and sets the
model's `config.pbtxt` to the `real` backend reading `checkpoint` (relative to the version
directory, so the repository stays relocatable). Triton serves the newest version by default.
The version directory is assembled under a temporary name and renamed into place, so a server
scanning the repository never sees half a version. The checkpoint is checked before anything
is written: a wrong architecture fails here, not at load time on a shared server.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from skill3d_eval.experts.errors import ExpertError

ExportFormat = Literal["hf", "onnx", "torchscript"]

# Which checkpoints each model's `real` backend runs, by format (config.json `model_type`).
ACCEPTED: dict[str, dict[str, tuple[str, ...]]] = {
    "depth": {"hf": ("depth_anything",)},
    "detection": {"hf": ("grounding-dino",)},
    "super_resolution": {"hf": ("swin2sr",)},
    "segmentation": {"hf": ("sam",)},
    "orientation": {"hf": ("dinov2",)},  # plus orientation_head.json/.safetensors (skill3d_experts.orientation_head)
    "reconstruction": {"onnx": ()},  # a directory with model.onnx of the runner's I/O signature
}


class ExportError(ExpertError):
    """The checkpoint cannot become a version of that model (unknown model, format, architecture)."""


@dataclass(frozen=True)
class ExportedModel:
    name: str
    version: int
    path: Path  # the version directory


def export_model(
    name: str,
    checkpoint: Path,
    repository: Path,
    fmt: ExportFormat = "hf",
    parameters: Mapping[str, str] | None = None,
    *,
    copy: bool = True,
) -> ExportedModel:
    """`parameters` are further config parameters the checkpoint needs to be read correctly
    (e.g. `fov_deg` of a depth model trained on one camera); they live in `config.pbtxt` beside it.
    `copy=False` points the version at the checkpoint where it lies (absolute path) instead of
    copying it: for throwaway repositories assembled per run, where multi-GB weights must not be duplicated."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    model_dir = Path(repository) / name
    config_path = model_dir / "config.pbtxt"
    if not config_path.is_file():
        raise ExportError(f"no model {name!r} in {repository} (no {config_path})", model=name)
    formats = ACCEPTED.get(name, {})
    if fmt not in formats:
        supported = ", ".join(sorted(formats)) or "none yet"
        raise ExportError(f"export of {name!r} in format {fmt!r} is not supported (supported: {supported})", model=name)
    _check_checkpoint(name, Path(checkpoint), formats[fmt])
    versions = sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())
    shims = [model_dir / str(v) / "model.py" for v in versions if (model_dir / str(v) / "model.py").is_file()]
    if not shims:
        raise ExportError(f"{model_dir} has no version with a model.py to copy", model=name)
    version = (versions[-1] if versions else 0) + 1
    staging = Path(tempfile.mkdtemp(prefix=f".export-{version}-", dir=model_dir))
    try:
        shutil.copy2(shims[0], staging / "model.py")
        if copy:
            shutil.copytree(checkpoint, staging / "checkpoint")
        staging.rename(model_dir / str(version))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    config = text_format.Parse(config_path.read_text(), model_config_pb2.ModelConfig())
    config.parameters["backend"].string_value = "real"
    config.parameters["checkpoint"].string_value = "checkpoint" if copy else str(Path(checkpoint).resolve())
    for key, value in (parameters or {}).items():
        config.parameters[key].string_value = str(value)
    header = f"# {name}: version {version} exported from a {fmt} checkpoint; backend 'real' (see experts_triton/README.md)\n"
    temporary = config_path.with_suffix(".pbtxt.tmp")
    temporary.write_text(header + text_format.MessageToString(config))
    temporary.replace(config_path)
    return ExportedModel(name=name, version=version, path=model_dir / str(version))


def _check_checkpoint(name: str, checkpoint: Path, model_types: tuple[str, ...]) -> None:
    if not model_types:  # onnx: the runner checks the graph's input/output names at load time
        if not (checkpoint / "model.onnx").is_file():
            raise ExportError(f"checkpoint {checkpoint} has no model.onnx", model=name)
        return
    config_file = checkpoint / "config.json"
    if not config_file.is_file():
        raise ExportError(f"checkpoint {checkpoint} has no config.json (a Hugging Face checkpoint directory is expected)", model=name)
    model_type = json.loads(config_file.read_text()).get("model_type", "")
    if model_type not in model_types:
        raise ExportError(
            f"checkpoint {checkpoint} is a {model_type!r} model; {name} accepts {', '.join(model_types)}", model=name
        )
