"""Orient-Anything's network: a DINOv2 backbone and an MLP over angle bins, as a project module.

Neither transformers nor PyPI ships Orient-Anything, so the architecture lives here: the
backbone is transformers' `Dinov2Model` (its CLS token feeds the head), the head predicts
logits over 360 azimuth bins (1° each, 0..359), 180 elevation ("polar") bins (-90..89) and 180
rotation bins (-90..89), plus 2 logits whose softmax[0] is the confidence that the crop shows
one oriented object — the released model's output layout. A checkpoint directory holds the
backbone as a Hugging Face checkpoint (`config.json` with `model_type: dinov2`,
`model.safetensors`), the head as `orientation_head.safetensors` + `orientation_head.json`
(`{"hidden_size": ..., "head_hidden_size": ...}`) and a saved image processor.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

AZIMUTH_BINS, ELEVATION_BINS, ROTATION_BINS = 360, 180, 180
OUTPUTS = AZIMUTH_BINS + ELEVATION_BINS + ROTATION_BINS + 2
HEAD_CONFIG, HEAD_WEIGHTS = "orientation_head.json", "orientation_head.safetensors"


class AngleBinHead(nn.Module):
    def __init__(self, hidden_size: int, head_hidden_size: int):
        super().__init__()
        self.hidden_size, self.head_hidden_size = hidden_size, head_hidden_size
        self.mlp = nn.Sequential(nn.Linear(hidden_size, head_hidden_size), nn.GELU(), nn.Linear(head_hidden_size, OUTPUTS))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.mlp(features)


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
        (directory / HEAD_CONFIG).write_text(json.dumps({"hidden_size": self.head.hidden_size, "head_hidden_size": self.head.head_hidden_size}))

    @classmethod
    def load(cls, directory: Path) -> OrientationNetwork:
        from safetensors.torch import load_file
        from transformers import Dinov2Model

        config = json.loads((directory / HEAD_CONFIG).read_text())
        head = AngleBinHead(config["hidden_size"], config["head_hidden_size"])
        head.load_state_dict(load_file(str(directory / HEAD_WEIGHTS)))
        return cls(Dinov2Model.from_pretrained(directory), head)


def decode_angles(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Angles [B,3] (azimuth in [0, 360), elevation and rotation in [-90, 90)) and confidence [B] from logits [B, OUTPUTS]."""
    azimuth = logits[:, :AZIMUTH_BINS].argmax(dim=-1).float()
    elevation = logits[:, AZIMUTH_BINS : AZIMUTH_BINS + ELEVATION_BINS].argmax(dim=-1).float() - 90
    rotation = logits[:, AZIMUTH_BINS + ELEVATION_BINS : OUTPUTS - 2].argmax(dim=-1).float() - 90
    confidence = logits[:, -2:].softmax(dim=-1)[:, 0]
    return torch.stack([azimuth, elevation, rotation], dim=1), confidence
