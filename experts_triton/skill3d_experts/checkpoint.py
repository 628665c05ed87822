"""What every `real` backend shares: locating its checkpoint and sizing torch for a CPU instance.

`checkpoint` (config parameter) is a directory, absolute or relative to the model version's
directory (`<repository>/<model>/<version>/`), which is where `skill3d-eval experts export`
puts it, so a repository can be copied or mounted anywhere. Heavy imports (torch,
transformers) happen only when a real backend is built: oracle-only servers never pay them.
"""

from __future__ import annotations

from pathlib import Path

from skill3d_experts._triton import float_param


def checkpoint_dir(model: str, params: dict[str, str], marker: str = "config.json") -> Path:
    raw = params.get("checkpoint", "").strip()
    if not raw:
        raise ValueError(f"{model}: backend 'real' needs the config parameter 'checkpoint' (a checkpoint directory)")
    path = Path(raw)
    if not path.is_absolute():
        path = Path(params.get("version_dir", "")) / path
    if not (path / marker).is_file():
        raise ValueError(f"{model}: checkpoint {str(path)!r} is not a directory with a {marker}")
    return path


def configure_torch(model: str, params: dict[str, str]) -> None:
    """`torch_threads` (default 1): one instance per core scales better than threads on shared CPUs."""
    import torch

    threads = float_param(model, params, "torch_threads", 1.0, minimum=1.0)
    torch.set_num_threads(int(threads))
