"""`skill3d-eval experts convert orient-anything | vggt | pi3 | pi3x` and `experts gpu-repository`:
released checkpoints → directories `experts export` accepts, and a repository copy placed on GPUs."""

from __future__ import annotations

import argparse
from pathlib import Path

from skill3d_eval.experts.cli import _key_value, reported
from skill3d_eval.settings import MODEL_REPOSITORY


def _network_size(text: str) -> tuple[int, int]:
    height, sep, width = text.lower().partition("x")
    if not sep or not height.isdigit() or not width.isdigit():
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH, e.g. 392x518, got {text!r}")
    return int(height), int(width)


def register(experts: argparse._SubParsersAction) -> None:
    convert = experts.add_parser("convert", help="turn a released checkpoint into a directory `experts export` accepts")
    families = convert.add_subparsers(dest="family", required=True)
    orient = families.add_parser("orient-anything", help="Orient-Anything's dino_weight.pt → an orientation checkpoint directory")
    orient.add_argument("--weights", type=Path, required=True, help="the released dino_weight.pt")
    orient.add_argument(
        "--backbone-config", type=Path, required=True,
        help="DINOv2 config of the checkpoint's size (directory with config.json, or the file): facebook/dinov2-large for the released model",
    )
    orient.add_argument("--out", type=Path, required=True, help="directory to write the converted checkpoint to")
    orient.set_defaults(run=_convert_orientation)
    for name in ("vggt", "pi3", "pi3x"):
        family = families.add_parser(name, help=f"released {name} weights → model.onnx of the reconstruction runner's signature")
        family.add_argument("--weights", type=Path, required=True, help="model.pt / model.safetensors, or a from_pretrained directory")
        family.add_argument("--out", type=Path, required=True, help="directory to write model.onnx to")
        family.add_argument(
            "--network-size", type=_network_size, default=(392, 518), metavar="HxW",
            help="size the views are resized to inside the graph (multiples of 14; default 392x518, VGGT's size for 4:3 frames)",
        )
        family.set_defaults(run=_convert_reconstruction)

    gpu = experts.add_parser("gpu-repository", help="copy a model repository with the heavy models on GPUs (NVIDIA's Triton container)")
    gpu.add_argument("--repository", type=Path, default=MODEL_REPOSITORY, help="repository to copy")
    gpu.add_argument("--out", type=Path, required=True, help="where the GPU-placed copy is written")
    gpu.add_argument("--gpus", type=int, nargs="+", required=True, metavar="ID", help="GPU ids the heavy models run on")
    gpu.add_argument("--cpu-models", nargs="*", default=None, metavar="MODEL", help="models kept on CPU (default: super_resolution orientation)")
    gpu.add_argument("--instances-per-gpu", type=int, default=1, help="model instances on each listed GPU")
    gpu.add_argument("--queue-delay-us", type=int, default=2000, help="dynamic-batching queue delay of batching models on GPU")
    gpu.add_argument(
        "--param", type=_key_value, action="append", default=[], metavar="KEY=VALUE",
        help="config parameter written into every model, e.g. oracle_root=/data/oracle (repeatable)",
    )
    gpu.set_defaults(run=_gpu_repository)


def _convert_orientation(args: argparse.Namespace) -> int:
    from skill3d_eval.experts.convert import ConversionError, convert_orient_anything

    def convert() -> str:
        out = convert_orient_anything(args.weights, args.backbone_config, args.out)
        return f"wrote {out}; next: skill3d-eval experts export orientation --checkpoint {out}"

    return reported(ConversionError, convert)


def _convert_reconstruction(args: argparse.Namespace) -> int:
    from skill3d_eval.experts.convert import ConversionError
    from skill3d_eval.experts.convert_reconstruction import (
        export_reconstructor,
        load_released,
    )

    def convert() -> str:
        out = export_reconstructor(load_released(args.family, args.weights), args.family, args.out, args.network_size)
        return f"wrote {out / 'model.onnx'}; next: skill3d-eval experts export reconstruction --checkpoint {out} --format onnx"

    return reported(ConversionError, convert)


def _gpu_repository(args: argparse.Namespace) -> int:
    from skill3d_eval.experts.gpu import (
        LIGHT_MODELS,
        GpuPlacement,
        PlacementError,
        gpu_repository,
        placement_lines,
    )

    placement = GpuPlacement(
        gpus=tuple(args.gpus), cpu_models=LIGHT_MODELS if args.cpu_models is None else tuple(args.cpu_models),
        instances_per_gpu=args.instances_per_gpu, queue_delay_us=args.queue_delay_us, parameters=dict(args.param),
    )
    return reported(PlacementError, lambda: "\n".join([f"wrote {args.out}", *placement_lines(gpu_repository(args.repository, args.out, placement))]))
