"""Real checkpoints for a server the harness starts itself (`experts_checkpoints=...`).

A user with checkpoints on disk or in the local Hugging Face cache should not have to run six
`experts export` commands and a server before evaluating a real benchmark. The value names each
expert's checkpoint: a directory holding one sub-directory per expert (`DIR/depth/`,
`DIR/detection/`, ...), or a JSON object `{model: directory or Hugging Face model id}`; ids are
looked up in the local HF cache only (runs are offline). The assembled repository references the
checkpoints where they lie (absolute `checkpoint` parameter), so weights are never copied per run.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from skill3d_eval.experts.errors import ExpertError
from skill3d_eval.experts.export import ACCEPTED, ExportError, export_model

# The format each expert's checkpoint comes in (experts_triton/README.md, "Backends and accepted checkpoints").
CHECKPOINT_FORMAT = {name: next(iter(formats)) for name, formats in ACCEPTED.items()}


class CheckpointError(ExpertError):
    """A configured checkpoint cannot be found or is not one its expert runs."""


def parse_checkpoints(value: str | Mapping[str, str]) -> dict[str, str] | Path:
    """The setting as given: a directory, or a `{model: path or id}` mapping (a JSON string from `--model_args`)."""
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    text = value.strip()
    if text.startswith("{"):
        try:
            mapping = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"experts_checkpoints is not a valid JSON object: {exc.msg} at position {exc.pos}") from None
        if not isinstance(mapping, dict):
            raise CheckpointError("experts_checkpoints must be a directory or a JSON object {model: checkpoint}")
        return {str(k): str(v) for k, v in mapping.items()}
    return Path(text).expanduser()


def resolve_checkpoints(value: str | Mapping[str, str], models: Sequence[str]) -> dict[str, Path]:
    """Each configured expert's checkpoint directory. Unknown model names are an error; models
    the value does not mention are absent from the result (the caller decides whether that is fine)."""
    spec = parse_checkpoints(value)
    if isinstance(spec, Path):
        if not spec.is_dir():
            raise CheckpointError(f"experts_checkpoints={spec} is not a directory (expected one sub-directory per expert: {', '.join(models)})")
        return {name: spec / name for name in models if (spec / name).is_dir()}
    unknown = sorted(set(spec) - set(models))
    if unknown:
        raise CheckpointError(f"experts_checkpoints names unknown experts {unknown} (known: {', '.join(models)})")
    return {name: _locate(name, source) for name, source in spec.items()}


def _locate(model: str, source: str) -> Path:
    path = Path(source).expanduser()
    if path.is_dir():
        return path
    if path.is_absolute() or source.startswith((".", "~")) or source.count("/") != 1:
        raise CheckpointError(f"experts_checkpoints: the {model} checkpoint {source!r} is not a directory")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(source, local_files_only=True))
    except LocalEntryNotFoundError:
        raise CheckpointError(
            f"experts_checkpoints: the {model} checkpoint {source!r} is neither a directory nor in the local Hugging Face cache; "
            f"download it where the hub is reachable (`hf download {source}`) and copy the cache, or give a directory"
        ) from None


def assemble_repository(base: Path, checkpoints: Mapping[str, Path], out: Path) -> Path:
    """A copy of `base` (configs and version-1 shims only) in which every expert in `checkpoints`
    is a `real` version reading its checkpoint in place. The checkpoint is checked here, as
    `experts export` checks it, so a wrong directory fails before the server starts."""
    out.mkdir(parents=True, exist_ok=True)
    for model_dir in sorted(p for p in Path(base).iterdir() if (p / "config.pbtxt").is_file()):
        target = out / model_dir.name
        (target / "1").mkdir(parents=True, exist_ok=True)
        shutil.copy2(model_dir / "config.pbtxt", target / "config.pbtxt")
        shutil.copy2(model_dir / "1" / "model.py", target / "1" / "model.py")
    for name, checkpoint in checkpoints.items():
        try:
            export_model(name, checkpoint, out, CHECKPOINT_FORMAT[name], copy=False)
        except ExportError as exc:
            raise CheckpointError(f"experts_checkpoints: {exc}", model=name) from None
    return out
