"""A copy of a model repository placed on GPUs, for NVIDIA's Triton container on a GPU machine.

The repository in git ships `KIND_CPU` instance groups because a `KIND_GPU` group fails to
load where there is no GPU (the pytriton binary here). `gpu_repository` copies a repository
(exported versions included) and rewrites each heavy model's `config.pbtxt` — parsed and
written with protobuf `text_format`, like `export` — to one `KIND_GPU` group listing the GPUs
(Triton runs `instances_per_gpu` instances on each of them and tells each instance its device,
which a `real` backend uses as `cuda:<model_instance_device_id>`); models that batch get a queue delay
long enough to fill GPU batches. Light models stay on CPU. The container loads configs from
disk, not through `TritonServer`'s load-time overrides, so launch parameters such as
`oracle_root` are written into every config here.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from skill3d_eval.experts.errors import ExpertError

LIGHT_MODELS = ("super_resolution", "orientation")  # small networks or oracle-only: CPU leaves the GPU to the others


class PlacementError(ExpertError):
    """The GPU placement cannot be written (bad GPU list, unknown model, existing output)."""


@dataclass(frozen=True)
class GpuPlacement:
    gpus: tuple[int, ...]
    cpu_models: tuple[str, ...] = LIGHT_MODELS
    instances_per_gpu: int = 1
    queue_delay_us: int = 2000  # dynamic batching wait (max_batch_size > 0 models on GPU)
    parameters: Mapping[str, str] = field(default_factory=dict)  # written into every model's config


@dataclass(frozen=True)
class ModelPlacement:
    model: str
    kind: Literal["KIND_GPU", "KIND_CPU"]
    gpus: tuple[int, ...]
    dynamic_batching: bool


def gpu_repository(source: Path, out: Path, placement: GpuPlacement) -> list[ModelPlacement]:
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    source, out = Path(source), Path(out)
    configs = sorted(source.glob("*/config.pbtxt"))
    if not configs:
        raise PlacementError(f"--repository {source} has no <model>/config.pbtxt")
    if not placement.gpus or any(g < 0 for g in placement.gpus) or len(set(placement.gpus)) != len(placement.gpus):
        raise PlacementError(f"--gpus must list distinct GPU ids >= 0, got {list(placement.gpus)}")
    if placement.instances_per_gpu < 1 or placement.queue_delay_us < 0:
        raise PlacementError("--instances-per-gpu must be >= 1 and --queue-delay-us >= 0")
    models = {path.parent.name for path in configs}
    unknown = sorted(set(placement.cpu_models) - models)
    if unknown:
        raise PlacementError(f"--cpu-models {unknown} are not models of {source} (models: {', '.join(sorted(models))})")
    if out.exists():
        raise PlacementError(f"--out {out} exists; choose a new directory")
    shutil.copytree(source, out, ignore=shutil.ignore_patterns("__pycache__", ".export-*", "*.pbtxt.tmp"))

    placed = []
    for path in sorted(out.glob("*/config.pbtxt")):
        config = text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())
        name = path.parent.name
        for key, value in placement.parameters.items():
            config.parameters[key].string_value = str(value)
        on_gpu = name not in placement.cpu_models
        if on_gpu:
            del config.instance_group[:]
            group = config.instance_group.add()
            group.kind = model_config_pb2.ModelInstanceGroup.KIND_GPU
            group.count = placement.instances_per_gpu
            group.gpus.extend(placement.gpus)
            if config.max_batch_size > 0:
                config.dynamic_batching.max_queue_delay_microseconds = placement.queue_delay_us
        where = f"GPU {list(placement.gpus)}" if on_gpu else "CPU"
        header = f"# {name}: placed on {where} by `skill3d-eval experts gpu-repository` for NVIDIA's Triton container (see experts_triton/README.md)\n"
        path.write_text(header + text_format.MessageToString(config))
        placed.append(ModelPlacement(
            model=name, kind="KIND_GPU" if on_gpu else "KIND_CPU", gpus=placement.gpus if on_gpu else (),
            dynamic_batching=config.HasField("dynamic_batching"),
        ))
    return placed


def placement_lines(placed: Sequence[ModelPlacement]) -> list[str]:
    return [
        f"{p.model:<18} {p.kind:<9} {' '.join(map(str, p.gpus)) or '-':<8} {'dynamic batching' if p.dynamic_batching else ''}".rstrip()
        for p in placed
    ]
