"""Released VGGT / Pi3 models → `model.onnx` with the reconstruction runner's signature.

The runner (`skill3d_experts.reconstruction.OnnxReconstruction`, experts_triton/README.md)
sends `images` FP32 [1,N,3,H,W] in [0, 1] at the size the client sent and reads
`camera_poses` FP32 [1,N,4,4] (camera-to-world, OpenCV) and `points` FP32 [1,N,H,W,3] (same
world frame). The released models take [B,N,3,h,w] in [0, 1] with h, w multiples of their
14-pixel patch and answer dicts in their own conventions, so `RunnerSignature` resizes the
views to a fixed network size chosen at export (bilinear), converts the family's outputs
(`FAMILIES`) and resizes the point maps back to H×W, all in ONNX-exportable torch ops; N, H and
W stay dynamic. The family's package is imported only to load released weights: the wrapper
and the exporter work on any module with the family's output format (the tests use tiny ones).

- VGGT (facebookresearch/vggt): `pose_enc` [B,N,9] = translation (3), quaternion (4, x y z w,
  scalar last), field of view (h, w) of the world-to-camera (OpenCV) extrinsics
  (`vggt.utils.pose_enc.pose_encoding_to_extri_intri`, "absT_quaR_FoV") → inverted here;
  `world_points` [B,N,h,w,3] in the same world (view 0's camera).
- Pi3 / Pi3X (yyfz/Pi3): `camera_poses` [B,N,4,4] camera-to-world and `points` [B,N,h,w,3]
  already; Pi3's scale is arbitrary, Pi3X's approximately metric.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skill3d_eval.experts.convert import ConversionError

PATCH = 14


def quaternion_to_rotation(quaternion: Any) -> Any:
    """[...,4] x y z w (scalar last, need not be unit) → [...,3,3]; vggt.utils.rotation.quat_to_mat."""
    import torch

    i, j, k, r = torch.unbind(quaternion, -1)
    two_s = 2.0 / (quaternion * quaternion).sum(-1)
    rows = (
        1 - two_s * (j * j + k * k), two_s * (i * j - k * r), two_s * (i * k + j * r),
        two_s * (i * j + k * r), 1 - two_s * (i * i + k * k), two_s * (j * k - i * r),
        two_s * (i * k - j * r), two_s * (j * k + i * r), 1 - two_s * (i * i + j * j),
    )
    return torch.stack(rows, -1).reshape(quaternion.shape[:-1] + (3, 3))


def vggt_camera_to_world(pose_enc: Any) -> Any:
    """VGGT's `pose_enc` [B,N,9] (world-to-camera translation, quaternion, FoV) → camera-to-world [B,N,4,4]."""
    import torch

    rotation_w2c = quaternion_to_rotation(pose_enc[..., 3:7])
    rotation = rotation_w2c.transpose(-1, -2)
    translation = -(rotation @ pose_enc[..., :3, None])
    top = torch.cat([rotation, translation], dim=-1)
    bottom = torch.cat([torch.zeros_like(translation.transpose(-1, -2)), torch.ones_like(translation[..., :1, :])], dim=-1)
    return torch.cat([top, bottom], dim=-2)


def _vggt_outputs(predictions: dict[str, Any]) -> tuple[Any, Any]:
    return vggt_camera_to_world(predictions["pose_enc"]), predictions["world_points"]


def _pi3_outputs(predictions: dict[str, Any]) -> tuple[Any, Any]:
    return predictions["camera_poses"], predictions["points"]


@dataclass(frozen=True)
class Family:
    name: str
    package: str  # import name of the family's own code, needed only to load released weights
    install: str
    model_class: str  # "module:Class", a PyTorchModelHubMixin model
    outputs: Callable[[dict[str, Any]], tuple[Any, Any]]  # the family's output dict → (camera-to-world poses, world points)


FAMILIES: dict[str, Family] = {
    "vggt": Family("vggt", "vggt", "pip install git+https://github.com/facebookresearch/vggt", "vggt.models.vggt:VGGT", _vggt_outputs),
    "pi3": Family("pi3", "pi3", "pip install git+https://github.com/yyfz/Pi3", "pi3.models.pi3:Pi3", _pi3_outputs),
    "pi3x": Family("pi3x", "pi3", "pip install git+https://github.com/yyfz/Pi3", "pi3.models.pi3x:Pi3X", _pi3_outputs),
}


def _family(name: str) -> Family:
    if name not in FAMILIES:
        raise ConversionError(f"unknown reconstruction family {name!r} (known: {', '.join(FAMILIES)})", model="reconstruction")
    return FAMILIES[name]


def runner_signature(model: Any, family: str, network_size: tuple[int, int]) -> Any:
    """`model` (the family's forward: [B,N,3,h,w] → its output dict) wrapped as `images` → `(camera_poses, points)`."""
    import torch
    from torch import nn

    outputs = _family(family).outputs
    height, width = network_size
    if height <= 0 or width <= 0 or height % PATCH or width % PATCH:
        raise ConversionError(f"network size {height}x{width} must be positive multiples of the {PATCH}-pixel patch", model="reconstruction")

    class RunnerSignature(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            views = images[0]
            resized = nn.functional.interpolate(views, size=(height, width), mode="bilinear", align_corners=False)
            poses, points = outputs(self.model(resized[None]))
            maps = nn.functional.interpolate(points[0].permute(0, 3, 1, 2), size=views.shape[-2:], mode="bilinear", align_corners=False)
            return poses.float(), maps.permute(0, 2, 3, 1)[None].float()

    return RunnerSignature().eval()


def export_reconstructor(model: Any, family: str, out: Path, network_size: tuple[int, int] = (392, 518)) -> Path:
    """`out/model.onnx` (plus external weight files past ONNX's 2 GB limit) for `export reconstruction --format onnx`."""
    import torch

    wrapper = runner_signature(model, family, network_size)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ConversionError(f"--out {out} exists and is not empty", model="reconstruction")
    out.mkdir(parents=True, exist_ok=True)
    example = torch.rand(1, 2, 3, *network_size)
    with warnings.catch_warnings(), torch.no_grad():  # the tracer's notes on shape arithmetic
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper, (example,), str(out / "model.onnx"), input_names=["images"], output_names=["camera_poses", "points"],
            dynamic_axes={"images": {1: "views", 3: "height", 4: "width"}, "camera_poses": {1: "views"}, "points": {1: "views", 2: "height", 3: "width"}},
            opset_version=17, dynamo=False,
        )
    return out


def load_released(family: str, weights: Path) -> Any:
    """The released model from a checkpoint file (`model.pt` / `model.safetensors`) or a
    `from_pretrained` directory, with the family's own package (which must be installed)."""
    import importlib

    import torch

    spec = _family(family)
    module_name, class_name = spec.model_class.split(":")
    try:
        model_class = getattr(importlib.import_module(module_name), class_name)
    except ImportError as error:
        raise ConversionError(
            f"converting {family} needs its own package {spec.package!r}, which is not importable here ({error}); install it: {spec.install}",
            model="reconstruction",
        ) from error
    weights = Path(weights)
    if weights.is_dir():
        return model_class.from_pretrained(str(weights)).eval()
    if not weights.is_file():
        raise ConversionError(f"--weights {weights}: no such file or directory", model="reconstruction")
    if weights.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(weights))
    else:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    model = model_class()
    model.load_state_dict(state)
    return model.eval()
