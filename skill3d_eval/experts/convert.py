"""Released Orient-Anything weights → the `orientation` checkpoint layout `export` accepts.

Orient-Anything (SpatialVision/Orient-Anything, HF `Viglong/Orient-Anything`) ships one
`dino_weight.pt`: the `state_dict` of its `DINOv2_MLP` — `dinov2.*` (a transformers
`Dinov2Model` under the names of the transformers release it was trained with: e.g.
`encoder.layer.N.attention.attention.query`) and `down_sampler.net{1,2}.{0,1}.*` (the
`MLP_dim` head, 902 outputs). The backbone is re-read through `Dinov2Model.from_pretrained`
so the installed transformers applies its own renaming of older checkpoints (including the
giant model's fused SwiGLU weights); the head's names are ours unchanged. Every key must be
used and every parameter filled: a mismatch would silently leave random weights.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from skill3d_eval.experts.errors import ExpertError

BACKBONE_PREFIX, HEAD_PREFIX = "dinov2.", "down_sampler."
# facebook/dinov2-*'s preprocessor_config.json: what the release runs (`AutoImageProcessor.from_pretrained(DINO_LARGE)`)
DINOV2_PREPROCESSING: dict[str, Any] = {
    "do_resize": True, "size": {"shortest_edge": 256}, "resample": 3, "do_center_crop": True,
    "crop_size": {"height": 224, "width": 224}, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
    "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225], "do_convert_rgb": True,
}


class ConversionError(ExpertError):
    """A released checkpoint does not have the layout its converter expects (names the file and keys)."""


def convert_orient_anything(weights: Path, backbone_config: Path, out: Path) -> Path:
    """Write `out/` (backbone, head, image processor) from `dino_weight.pt` and the DINOv2 config
    of its size (`facebook/dinov2-large` for the released model): a directory with `config.json`
    (its `preprocessor_config.json` is reused when present) or the config file itself."""
    import torch
    from skill3d_experts.orientation_head import OUTPUTS, AngleBinHead, OrientationNetwork
    from transformers import Dinov2Config

    weights, out = Path(weights), Path(out)
    config = _dinov2_config(Path(backbone_config), Dinov2Config)
    if not weights.is_file():
        raise ConversionError(f"--weights {weights}: no such file (Orient-Anything's dino_weight.pt)", model="orientation")
    if out.exists() and any(out.iterdir()):
        raise ConversionError(f"--out {out} exists and is not empty", model="orientation")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as error:  # a zip/pickle error, or objects weights_only refuses
        raise ConversionError(f"{weights} cannot be read as a torch state_dict: {error}", model="orientation") from error
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConversionError(f"{weights} is not a state_dict of tensors (DINOv2_MLP.state_dict())", model="orientation")
    unknown = sorted(k for k in state if not k.startswith((BACKBONE_PREFIX, HEAD_PREFIX)))
    if unknown:
        raise ConversionError(f"{weights}: keys outside dinov2.* and down_sampler.*: {_some(unknown)}", model="orientation")

    head = AngleBinHead(config.hidden_size)
    head_state = {k[len(HEAD_PREFIX):]: v for k, v in state.items() if k.startswith(HEAD_PREFIX)}
    expected = head.state_dict()
    _check_keys(weights, HEAD_PREFIX, set(head_state), set(expected))
    wrong = [f"{HEAD_PREFIX}{k} {list(v.shape)} (expected {list(expected[k].shape)})" for k, v in head_state.items() if v.shape != expected[k].shape]
    if wrong:
        raise ConversionError(
            f"{weights}: head shapes do not match a DINOv2 of hidden size {config.hidden_size} with {OUTPUTS} outputs "
            f"(360 azimuth + 180 polar + 360 rotation + 2 confidence): {_some(wrong)}",
            model="orientation",
        )
    head.load_state_dict(head_state)
    backbone = _load_backbone(weights, config, {k[len(BACKBONE_PREFIX):]: v for k, v in state.items() if k.startswith(BACKBONE_PREFIX)})
    out.mkdir(parents=True, exist_ok=True)
    OrientationNetwork(backbone.eval(), head.eval()).save(out)
    _image_processor(Path(backbone_config)).save_pretrained(out)
    return out


def _dinov2_config(path: Path, config_class: Any) -> Any:
    file = path / "config.json" if path.is_dir() else path
    if not file.is_file():
        raise ConversionError(f"--backbone-config {path}: no DINOv2 config.json there", model="orientation")
    values = json.loads(file.read_text())
    if values.get("model_type") != "dinov2":
        raise ConversionError(f"--backbone-config {file} is a {values.get('model_type')!r} config, not dinov2", model="orientation")
    return config_class.from_dict(values)


def _load_backbone(weights: Path, config: Any, state: dict[str, Any]) -> Any:
    """Through `from_pretrained`, so the installed transformers maps the release's parameter names."""
    from safetensors.torch import save_file
    from transformers import Dinov2Model

    with tempfile.TemporaryDirectory(prefix="orient-anything-") as staging:
        config.save_pretrained(staging)
        save_file({k: v.contiguous() for k, v in state.items()}, str(Path(staging) / "model.safetensors"))
        backbone, info = Dinov2Model.from_pretrained(staging, output_loading_info=True)
    problems = [
        f"{what}: {_some(sorted(str(k) for k in keys))}"
        for what, keys in (("missing", info.get("missing_keys")), ("unexpected", info.get("unexpected_keys")), ("wrong shape", info.get("mismatched_keys")))
        if keys
    ]
    if problems:
        raise ConversionError(
            f"{weights}: the dinov2.* weights do not fit the --backbone-config ({config.hidden_size} wide, "
            f"{config.num_hidden_layers} layers): " + "; ".join(problems),
            model="orientation",
        )
    return backbone


def _check_keys(weights: Path, prefix: str, found: set[str], expected: set[str]) -> None:
    missing, unexpected = sorted(expected - found), sorted(found - expected)
    if missing or unexpected:
        parts = [f"missing {_some([prefix + k for k in missing])}" if missing else "", f"unexpected {_some([prefix + k for k in unexpected])}" if unexpected else ""]
        raise ConversionError(f"{weights}: head keys do not match Orient-Anything's MLP_dim: " + "; ".join(p for p in parts if p), model="orientation")


def _image_processor(backbone_config: Path) -> Any:
    """A PIL processor (the experts' venv has no torchvision) with the backbone's preprocessing."""
    from transformers import BitImageProcessorPil

    saved = backbone_config / "preprocessor_config.json" if backbone_config.is_dir() else None
    values = dict(DINOV2_PREPROCESSING)
    if saved is not None and saved.is_file():
        values.update({k: v for k, v in json.loads(saved.read_text()).items() if k in DINOV2_PREPROCESSING})
    return BitImageProcessorPil(**values)


def _some(items: list[str], limit: int = 8) -> str:
    return ", ".join(items[:limit]) + (f" (and {len(items) - limit} more)" if len(items) > limit else "")

