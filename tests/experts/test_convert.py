"""`skill3d-eval experts convert orient-anything`: a fake `dino_weight.pt` with the release's key
names and shapes (a tiny DINOv2, random weights and BatchNorm statistics) is converted, loaded
as `OrientationNetwork`, and must compute exactly what the original `DINOv2_MLP` +
`inference.get_3angle` compute with the same weights — any key mapped to the wrong parameter
changes the logits. Malformed checkpoints fail with the offending keys named."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from skill3d_experts.orientation_head import OrientationNetwork, decode_angles
from torch import nn
from transformers import Dinov2Config, Dinov2Model

from skill3d_eval.cli import main
from skill3d_eval.experts.convert import ConversionError, convert_orient_anything
from skill3d_eval.experts.export import export_model
from skill3d_eval.settings import MODEL_REPOSITORY

# transformers 4.x names of a DINOv2 block's attention, under which the release was saved
RELEASED_ATTENTION_NAMES = {
    "attention.q_proj.": "attention.attention.query.",
    "attention.k_proj.": "attention.attention.key.",
    "attention.v_proj.": "attention.attention.value.",
    "attention.o_proj.": "attention.output.dense.",
}


class ReleasedMLPDim(nn.Module):
    """vision_tower.MLP_dim(in_dim, out_dim=902) with its default 'relu' activation."""

    def __init__(self, in_dim: int, out_dim: int = 902):
        super().__init__()
        self.net1 = nn.Sequential(nn.Linear(in_dim, out_dim), nn.BatchNorm1d(out_dim), nn.ReLU(inplace=True))
        self.net2 = nn.Sequential(nn.Linear(out_dim, out_dim), nn.BatchNorm1d(out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net2(self.net1(x))


class ReleasedDINOv2MLP(nn.Module):
    """vision_tower.DINOv2_MLP at evaluation: the CLS token of the last hidden state through MLP_dim."""

    def __init__(self, config: Dinov2Config):
        super().__init__()
        self.dinov2 = Dinov2Model(config)
        self.down_sampler = ReleasedMLPDim(config.hidden_size)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.down_sampler(self.dinov2(pixel_values=pixel_values).last_hidden_state[:, 0, :])

    def released_state_dict(self) -> dict[str, torch.Tensor]:
        state = {}
        for key, value in self.state_dict().items():
            for new, old in RELEASED_ATTENTION_NAMES.items():
                key = key.replace(new, old)
            state[key] = value.clone()
        return state


def get_3angle(pred: torch.Tensor) -> torch.Tensor:
    """inference.get_3angle's decoding, for a batch: [B,4] azimuth, polar, rotation, confidence."""
    azimuth = torch.argmax(pred[:, 0:360], dim=-1).float()
    polar = torch.argmax(pred[:, 360 : 360 + 180], dim=-1).float() - 90
    rotation = torch.argmax(pred[:, 360 + 180 : 360 + 180 + 360], dim=-1).float() - 180
    confidence = torch.softmax(pred[:, -2:], dim=-1)[:, 0]
    return torch.stack([azimuth, polar, rotation, confidence], dim=1)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """(released model, dino_weight.pt path, backbone config directory)."""
    root = tmp_path_factory.mktemp("orient-anything")
    torch.manual_seed(0)
    config = Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, image_size=28, patch_size=14)
    model = ReleasedDINOv2MLP(config)
    with torch.no_grad():  # non-trivial values everywhere a wrong mapping could hide
        for name, tensor in model.state_dict().items():
            if "running_var" in name or "lambda1" in name:
                tensor.copy_(torch.rand_like(tensor) + 0.5)
            elif tensor.is_floating_point():
                tensor.copy_(torch.randn_like(tensor) * 0.5)
    model.eval()
    weights = root / "dino_weight.pt"
    torch.save(model.released_state_dict(), weights)
    backbone = root / "dinov2-tiny"
    config.save_pretrained(backbone)
    (backbone / "preprocessor_config.json").write_text(json.dumps({"size": {"shortest_edge": 32}, "crop_size": {"height": 28, "width": 28}}))
    return model, weights, backbone


def test_the_fake_release_has_the_released_key_names(release):
    _, weights, _ = release
    keys = set(torch.load(weights, weights_only=True))
    assert {
        "dinov2.embeddings.cls_token", "dinov2.embeddings.mask_token", "dinov2.embeddings.patch_embeddings.projection.weight",
        "dinov2.encoder.layer.1.attention.attention.query.weight", "dinov2.encoder.layer.1.attention.output.dense.bias",
        "dinov2.encoder.layer.0.layer_scale1.lambda1", "dinov2.encoder.layer.0.mlp.fc2.weight", "dinov2.layernorm.bias",
        "down_sampler.net1.0.weight", "down_sampler.net1.1.running_mean", "down_sampler.net1.1.num_batches_tracked",
        "down_sampler.net2.0.bias", "down_sampler.net2.1.running_var",
    } <= keys
    assert not any("q_proj" in key for key in keys)


def test_converted_network_computes_what_the_release_computes(release, tmp_path):
    model, weights, backbone = release
    out = convert_orient_anything(weights, backbone, tmp_path / "converted")
    network = OrientationNetwork.load(out).eval()
    pixels = torch.randn(5, 3, 28, 28)
    with torch.no_grad():
        expected, logits = model(pixels), network(pixels)
    torch.testing.assert_close(logits, expected, rtol=1e-5, atol=1e-5)
    angles, confidence = decode_angles(logits)
    reference = get_3angle(expected)
    torch.testing.assert_close(angles, reference[:, :3])
    torch.testing.assert_close(confidence, reference[:, 3])
    processor = json.loads((out / "preprocessor_config.json").read_text())
    assert processor["crop_size"] == {"height": 28, "width": 28} and processor["size"] == {"shortest_edge": 32}


def test_real_backend_reads_the_converted_directory(release, tmp_path):
    from skill3d_experts.orientation import RealOrientation

    model, weights, backbone = release
    out = convert_orient_anything(weights, backbone, tmp_path / "converted")
    backend = RealOrientation(out)
    image = np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    box = np.array([10, 5, 50, 45], dtype=np.float32)
    (prediction,) = backend.predict_batch([(image, box)])
    pixels = backend.processor(images=[RealOrientation.crop(image, box)], return_tensors="pt", input_data_format="channels_last")["pixel_values"]
    assert pixels.shape == (1, 3, 28, 28)  # the backbone directory's preprocessing
    with torch.no_grad():
        reference = get_3angle(model(pixels))[0]
    np.testing.assert_allclose(prediction.angles, reference[:3].numpy())
    assert prediction.confidence == pytest.approx(float(reference[3]), abs=1e-6)


def _resave(weights, path, edit):
    state = torch.load(weights, weights_only=True)
    edit(state)
    torch.save(state, path)
    return path


def test_missing_and_unknown_keys_are_named(release, tmp_path):
    _, weights, backbone = release

    def rename_head(state):
        state["down_sampler.net3.1.running_var"] = state.pop("down_sampler.net2.1.running_var")

    bad = _resave(weights, tmp_path / "head.pt", rename_head)
    with pytest.raises(ConversionError, match=r"missing down_sampler\.net2\.1\.running_var; unexpected down_sampler\.net3\.1\.running_var"):
        convert_orient_anything(bad, backbone, tmp_path / "a")

    bad = _resave(weights, tmp_path / "backbone.pt", lambda state: state.pop("dinov2.encoder.layer.1.attention.attention.key.weight"))
    with pytest.raises(ConversionError, match=r"missing: .*layer\.1\.attention\.k.*weight"):
        convert_orient_anything(bad, backbone, tmp_path / "b")

    bad = _resave(weights, tmp_path / "prefix.pt", lambda state: state.update({"module.extra": torch.zeros(1)}))
    with pytest.raises(ConversionError, match=r"outside dinov2\.\* and down_sampler\.\*: module\.extra"):
        convert_orient_anything(bad, backbone, tmp_path / "c")


def test_a_backbone_config_of_another_size_is_refused(release, tmp_path):
    _, weights, _ = release
    wider = tmp_path / "wider"
    Dinov2Config(hidden_size=48, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, image_size=28).save_pretrained(wider)
    with pytest.raises(ConversionError, match=r"head shapes do not match a DINOv2 of hidden size 48 with 902 outputs.*net1\.0\.weight \[902, 32\]"):
        convert_orient_anything(weights, wider, tmp_path / "out")


def test_cli_converts_and_export_accepts_the_result(release, tmp_path, capsys):
    _, weights, backbone = release
    out = tmp_path / "orientation-checkpoint"
    assert main(["experts", "convert", "orient-anything", "--weights", str(weights), "--backbone-config", str(backbone / "config.json"), "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    repository = tmp_path / "repository"
    shutil.copytree(MODEL_REPOSITORY / "orientation", repository / "orientation", ignore=shutil.ignore_patterns("__pycache__"))
    exported = export_model("orientation", out, repository)
    assert (exported.path / "checkpoint" / "orientation_head.safetensors").is_file()
    assert main(["experts", "convert", "orient-anything", "--weights", str(tmp_path / "nope.pt"), "--backbone-config", str(backbone), "--out", str(tmp_path / "x")]) == 2
    assert "nope.pt: no such file" in capsys.readouterr().err
