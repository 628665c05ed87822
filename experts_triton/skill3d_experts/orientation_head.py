"""Orient-Anything's network: a DINOv2 backbone and an MLP over angle bins, as a project module.

Neither transformers nor PyPI ships Orient-Anything, so the architecture lives here, laid out
exactly as the released `DINOv2_MLP` (SpatialVision/Orient-Anything, `vision_tower.py`) so its
`dino_weight.pt` converts by renaming alone (`skill3d_eval.experts.convert`): the backbone is
transformers' `Dinov2Model`, whose CLS token feeds the head; the head is the release's
`MLP_dim` — `net1` = Linear(hidden, 902) + BatchNorm1d + ReLU, `net2` = Linear(902, 902) +
BatchNorm1d — whose 902 logits are 360 azimuth bins (0..359°), 180 polar ("elevation") bins
(-90..89°), 360 rotation bins (-180..179°) and 2 logits whose softmax[0] is the confidence that
the crop shows one oriented object (the release's `inference.get_3angle`). A checkpoint
directory holds the backbone as a Hugging Face checkpoint (`config.json` with `model_type:
dinov2`, `model.safetensors`), the head as `orientation_head.safetensors` +
`orientation_head.json` (`{"hidden_size": ...}`) and a saved image processor.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

AZIMUTH_BINS, ELEVATION_BINS, ROTATION_BINS = 360, 180, 360
OUTPUTS = AZIMUTH_BINS + ELEVATION_BINS + ROTATION_BINS + 2
HEAD_CONFIG, HEAD_WEIGHTS = "orientation_head.json", "orientation_head.safetensors"


class AngleBinHead(nn.Module):
    """The release's `MLP_dim(in_dim=hidden_size, out_dim=902)`; same parameter names (`net1.0.weight`, ...)."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.net1 = nn.Sequential(nn.Linear(hidden_size, OUTPUTS), nn.BatchNorm1d(OUTPUTS), nn.ReLU())
        self.net2 = nn.Sequential(nn.Linear(OUTPUTS, OUTPUTS), nn.BatchNorm1d(OUTPUTS))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net2(self.net1(features))


class OrientationNetwork(nn.Module):
    def __init__(self, backbone: nn.Module, head: AngleBinHead):
        super().__init__()
        self.backbone, self.head = backbone, head

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(pixel_values=pixel_values).last_hidden_state[:, 0])

    def save(self, directory: Path) -> None:
        from safetensors.torch import save_file

        self.backbone.save_pretrained(directory)
        save_file(self.head.state_dict(), str(directory / HEAD_WEIGHTS))
        (directory / HEAD_CONFIG).write_text(json.dumps({"hidden_size": self.head.hidden_size}))

    @classmethod
    def load(cls, directory: Path) -> OrientationNetwork:
        from safetensors.torch import load_file
        from transformers import Dinov2Model

        config = json.loads((directory / HEAD_CONFIG).read_text())
        head = AngleBinHead(config["hidden_size"])
        head.load_state_dict(load_file(str(directory / HEAD_WEIGHTS)))
        return cls(Dinov2Model.from_pretrained(directory), head)


def decode_angles(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Angles [B,3] (azimuth in [0, 360), elevation in [-90, 90), rotation in [-180, 180)) and
    confidence [B] from logits [B, OUTPUTS]: the arg-max bin of each group, as the release reads them."""
    azimuth = logits[:, :AZIMUTH_BINS].argmax(dim=-1).float()
    elevation = logits[:, AZIMUTH_BINS : AZIMUTH_BINS + ELEVATION_BINS].argmax(dim=-1).float() - ELEVATION_BINS // 2
    rotation = logits[:, AZIMUTH_BINS + ELEVATION_BINS : OUTPUTS - 2].argmax(dim=-1).float() - ROTATION_BINS // 2
    confidence = logits[:, -2:].softmax(dim=-1)[:, 0]
    return torch.stack([azimuth, elevation, rotation], dim=1), confidence
