"""Tiny, randomly initialised checkpoints of the real expert architectures, built from configs.

Tests and benchmarks export, serve and call these exactly like released checkpoints — the real
preprocessing, forward pass and post-processing run; only the weights are random — with no
download. Built in the evaluator's environment (transformers, torch) and loaded by the experts'.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any


def tiny_depth_anything(out_dir: Path, *, image_size: int = 56, layers: int = 2, seed: int = 0) -> Path:
    """A metric Depth Anything (DINOv2 backbone of `layers` blocks, DPT head) with a matching PIL image processor."""
    import torch
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config, DPTImageProcessorPil

    torch.manual_seed(seed)
    backbone = Dinov2Config(
        hidden_size=32, num_hidden_layers=layers, num_attention_heads=2, intermediate_size=64,
        image_size=image_size, patch_size=14, out_features=[f"stage{layers // 2}", f"stage{layers}"], reshape_hidden_states=False,
    )
    config = DepthAnythingConfig(
        backbone_config=backbone, reassemble_hidden_size=32, neck_hidden_sizes=[16, 32], fusion_hidden_size=16,
        head_hidden_size=16, depth_estimation_type="metric", max_depth=10, reassemble_factors=[1, 1],
    )
    DepthAnythingForDepthEstimation(config).eval().save_pretrained(out_dir)
    DPTImageProcessorPil(
        do_resize=True, size={"height": image_size, "width": image_size}, keep_aspect_ratio=False,
        ensure_multiple_of=14, do_normalize=True, image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225],
    ).save_pretrained(out_dir)
    return Path(out_dir)


def tiny_swin2sr(out_dir: Path, *, upscale: int = 2, seed: int = 0) -> Path:
    """A Swin2SR ×`upscale` (pixel-shuffle upsampler) with a PIL image processor padding to its window."""
    import torch
    from transformers import Swin2SRConfig, Swin2SRForImageSuperResolution, Swin2SRImageProcessorPil

    torch.manual_seed(seed)
    config = Swin2SRConfig(
        image_size=32, embed_dim=16, depths=[1, 1], num_heads=[2, 2], window_size=4, upscale=upscale,
        upsampler="pixelshuffle", mlp_ratio=2.0,
    )
    Swin2SRForImageSuperResolution(config).eval().save_pretrained(out_dir)
    Swin2SRImageProcessorPil(do_pad=True, size_divisor=config.window_size).save_pretrained(out_dir)
    return Path(out_dir)


def tiny_orient_anything(out_dir: Path, *, image_size: int = 28, seed: int = 0) -> Path:
    """Orient-Anything's layout (DINOv2 backbone + angle-bin head, `skill3d_experts.orientation_head`)."""
    import torch
    from skill3d_experts.orientation_head import AngleBinHead, OrientationNetwork
    from transformers import BitImageProcessorPil, Dinov2Config, Dinov2Model

    torch.manual_seed(seed)
    backbone = Dinov2Model(
        Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, image_size=image_size, patch_size=14)
    )
    out_dir = Path(out_dir)
    OrientationNetwork(backbone.eval(), AngleBinHead(32)).save(out_dir)
    BitImageProcessorPil(
        do_resize=True, size={"height": image_size, "width": image_size}, do_center_crop=False, do_normalize=True,
        image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225], do_convert_rgb=True,
    ).save_pretrained(out_dir)
    return out_dir


def tiny_sam(out_dir: Path, *, image_size: int = 64, seed: int = 0) -> Path:
    """SAM (ViT image encoder, prompt encoder, mask decoder) with a `SamProcessor` around the PIL image processor."""
    import torch
    from transformers import (
        SamConfig, SamImageProcessorPil, SamMaskDecoderConfig, SamModel, SamProcessor, SamPromptEncoderConfig, SamVisionConfig,
    )

    torch.manual_seed(seed)
    vision = SamVisionConfig(
        hidden_size=32, output_channels=16, num_hidden_layers=2, num_attention_heads=2, image_size=image_size,
        patch_size=16, mlp_dim=64, window_size=2, global_attn_indexes=[1], num_pos_feats=8,
    )
    prompt = SamPromptEncoderConfig(hidden_size=16, image_size=image_size, patch_size=16, mask_input_channels=4)
    decoder = SamMaskDecoderConfig(hidden_size=16, mlp_dim=32, num_hidden_layers=2, num_attention_heads=2, iou_head_hidden_dim=16)
    config = SamConfig(vision_config=vision.to_dict(), prompt_encoder_config=prompt.to_dict(), mask_decoder_config=decoder.to_dict())
    SamModel(config).eval().save_pretrained(out_dir)
    mask_side = image_size // 4
    processor = SamImageProcessorPil(
        size={"longest_edge": image_size}, pad_size={"height": image_size, "width": image_size},
        mask_size={"longest_edge": mask_side}, mask_pad_size={"height": mask_side, "width": mask_side},
    )
    SamProcessor(image_processor=processor).save_pretrained(out_dir)
    return Path(out_dir)


def tiny_grounding_dino(out_dir: Path, *, words: tuple[str, ...] = (), seed: int = 0) -> Path:
    """Grounding DINO (Swin backbone, BERT text encoder) with a word-level BERT vocabulary (offline)
    covering spatial_synth's category names and `words`, and a `GroundingDinoProcessor` around the
    PIL image processor. Needs ≥ 128 px input."""
    import torch
    from transformers import (
        BertConfig, BertTokenizer, GroundingDinoConfig, GroundingDinoForObjectDetection, GroundingDinoImageProcessorPil,
        GroundingDinoProcessor, SwinConfig,
    )

    from skill3d_eval.synth.catalogue import CATEGORIES

    torch.manual_seed(seed)
    known = [word for category in CATEGORIES for word in category.name.split()] + list(words)
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "a", "the", *dict.fromkeys(w.lower() for w in known)]
    tokenizer = BertTokenizer(vocab={word: index for index, word in enumerate(vocabulary)}, do_lower_case=True)
    backbone = SwinConfig(
        image_size=128, patch_size=4, embed_dim=8, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1], window_size=4,
        out_features=["stage2", "stage3", "stage4"],
    )
    text = BertConfig(vocab_size=len(vocabulary), hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, max_position_embeddings=64)
    config = GroundingDinoConfig(
        backbone_config=backbone, text_config=text, d_model=32, encoder_layers=1, decoder_layers=2, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, num_queries=10, num_feature_levels=3,
        encoder_n_points=2, decoder_n_points=2, max_text_len=32,
    )
    GroundingDinoForObjectDetection(config).eval().save_pretrained(out_dir)
    processor = GroundingDinoImageProcessorPil(size={"shortest_edge": 128, "longest_edge": 192})
    GroundingDinoProcessor(image_processor=processor, tokenizer=tokenizer).save_pretrained(out_dir)
    return Path(out_dir)


def tiny_onnx_reconstructor(out_dir: Path, *, focal_per_width: float = 1.0, seed: int = 0) -> Path:
    """`model.onnx` with the reconstruction runner's I/O signature (experts_triton/README.md):
    `images` FP32 [1,N,3,H,W] in [0, 1] → `camera_poses` FP32 [1,N,4,4] (camera-to-world, OpenCV)
    and `points` FP32 [1,N,H,W,3] (same world frame). A random conv predicts depth per pixel and a
    pose per view; points are depth back-projected through a pinhole with fx = fy =
    `focal_per_width` · W and the centre at ((W-1)/2, (H-1)/2), so intrinsics are known exactly."""
    import torch
    from torch import nn

    class Reconstructor(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.depth = nn.Conv2d(3, 1, 3, padding=1)
            self.pose = nn.Linear(3, 6)

        def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            views = images[0]  # [N,3,H,W]
            n, _, height, width = views.shape
            depth = nn.functional.softplus(self.depth(views))[:, 0] + 0.5  # [N,H,W]
            focal = focal_per_width * width
            v, u = torch.meshgrid(torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32), indexing="ij")
            rays = torch.stack([(u - (width - 1) / 2) / focal, (v - (height - 1) / 2) / focal, torch.ones_like(u)], dim=-1)
            local = rays[None] * depth[..., None]  # [N,H,W,3]
            params = 0.1 * torch.tanh(self.pose(views.mean(dim=(2, 3))))  # [N,6]: yaw, translation, ...
            yaw = params[:, 0]
            c, s, zero, one = torch.cos(yaw), torch.sin(yaw), torch.zeros_like(yaw), torch.ones_like(yaw)
            rotation = torch.stack([torch.stack([c, zero, s], -1), torch.stack([zero, one, zero], -1), torch.stack([-s, zero, c], -1)], 1)
            translation = params[:, 1:4]
            world = torch.einsum("nij,nhwj->nhwi", rotation, local) + translation[:, None, None, :]
            poses = torch.cat([torch.cat([rotation, translation[:, :, None]], 2), torch.tensor([[[0.0, 0.0, 0.0, 1.0]]]).expand(n, 1, 4)], 1)
            return poses[None], world[None]

    torch.manual_seed(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # the legacy exporter's deprecation and tracer notes
        warnings.simplefilter("ignore")
        _export_onnx(Reconstructor().eval(), out_dir / "model.onnx")
    return out_dir


def _export_onnx(module: Any, path: Path) -> None:
    import torch

    torch.onnx.export(
        module, (torch.rand(1, 2, 3, 24, 32),), str(path),
        input_names=["images"], output_names=["camera_poses", "points"],
        dynamic_axes={"images": {1: "views", 3: "height", 4: "width"}, "camera_poses": {1: "views"}, "points": {1: "views", 2: "height", 3: "width"}},
        dynamo=False,
    )


def tiny_checkpoints(out_dir: Path, *, words: tuple[str, ...] = ()) -> Path:
    """One tiny checkpoint per expert in the `experts_checkpoints=DIR` layout (`DIR/<model>/`)."""
    out_dir = Path(out_dir)
    tiny_depth_anything(out_dir / "depth")
    tiny_grounding_dino(out_dir / "detection", words=words)
    tiny_sam(out_dir / "segmentation")
    tiny_onnx_reconstructor(out_dir / "reconstruction")
    tiny_swin2sr(out_dir / "super_resolution")
    tiny_orient_anything(out_dir / "orientation")
    return out_dir
