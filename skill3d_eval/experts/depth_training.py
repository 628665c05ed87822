"""A small metric Depth Anything trained on spatial_synth's training scenes, for the `real` depth backend.

Tiny random checkpoints prove that the `real` backend runs, not that it is *right*: a wrong
resize, normalisation, depth scale or focal length still yields a depth map of the right shape.
A network that has learned metric depth on the synth camera exposes every one of those, because
the program policy's distances (depth back-projected through the served K) then come out right
or visibly wrong. The checkpoint is a plain `DepthAnythingForDepthEstimation` (DINOv2 backbone
from a config, `depth_estimation_type: metric`) saved with the very `DPTImageProcessorPil` the
backend loads, and training feeds the network through that processor: no train/serve skew can
hide. Only scenes of the training split are read (`meta.json`'s `train_scenes`); asking for a
test scene is an error, so held-out numbers stay held out.

The dataset's 16 training scenes are too few to learn per-object metric depth, so
training adds `extra_scenes` more rooms drawn by spatial_synth's own generator with the dataset's
seed and parameters at scene indices *past* the dataset's last one: the generator keys each
scene's random stream by (seed, index), so those rooms are new ones, never a test scene
re-rendered (each extra frame is also checked against the oracle store, which holds every
dataset frame). They are cached on disk beside the dataset.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

    from skill3d_eval.experts.protocol import Experts

TRAINING_RECORD = "training.json"
EXTRA_FRAMES_PER_ROOM = 8
EXTRA_CACHE_SUFFIX = "-depth-extra"  # sibling of the dataset directory: generated training rooms, one .npz per request  # beside config.json: what the checkpoint was trained on, and its camera


class DepthTrainingError(ValueError):
    """The request cannot be trained or evaluated as asked (test scenes for training, unknown scene, mixed cameras)."""


@dataclass(frozen=True, eq=False)
class DepthFrame:
    """A rendered frame with its truth: RGB uint8 [H,W,3], metric z-depth float32 [H,W], pinhole K [3,3]."""

    image: np.ndarray
    depth: np.ndarray
    intrinsics: np.ndarray
    scene: str
    frame_index: int


@dataclass(frozen=True)
class DepthTrainingConfig:
    """Network size and schedule. The defaults are what `benchmarks/real_experts.py` measured
    (experts_triton/README.md). On 640x480 frames a step's time went mostly to convolutions in
    the wrong memory layout and to a loss over 300k pixels per frame; NHWC and a loss at half the
    frame's size gave 0.34 s per batch of 8 instead of 0.51 s, i.e. half again as many steps in the
    same wall-clock budget, which is what the learned depth's accuracy is bound by."""

    minutes: float = 9.0
    max_steps: int | None = None
    batch_size: int = 8
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    warmup_fraction: float = 0.03
    seed: int = 0
    threads: int = 2
    height: int = 192
    width: int = 256
    patch_size: int = 16
    hidden_size: int = 128
    layers: int = 8
    heads: int = 4
    fusion_hidden_size: int = 48
    max_depth: int = 12
    scenes: tuple[str, ...] | None = None  # None: every training scene
    frames_per_scene: int | None = None  # None: every frame
    extra_scenes: int = 200  # generated training rooms past the dataset's scene indices (≈ 0.5 s each, cached)
    gradient_weight: float = 0.5  # multi-scale log-depth gradient matching: sharp object boundaries
    loss_downsample: int = 2  # the loss is taken at the frame's size / this (truth log-depth area-pooled); 1 = the full frame
    bf16: bool = True  # bfloat16 autocast for the training passes: 1.5-2x the steps per minute measured here; serving stays float32
    channels_last: bool = True  # NHWC for the DPT neck/head convolutions: 1.5x the steps per minute measured here (oneDNN)


@dataclass(frozen=True)
class DepthTrainingRecord:
    """Written as `training.json` into the checkpoint: `fov_deg` is the horizontal field of view
    of the training camera, the `fov_deg` config parameter the backend must be exported with."""

    scenes: tuple[str, ...]
    frames: int
    steps: int
    seconds: float
    fov_deg: float
    losses: tuple[float, ...]
    config: dict[str, Any] = field(default_factory=dict)

    def save(self, checkpoint: Path) -> None:
        (Path(checkpoint) / TRAINING_RECORD).write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, checkpoint: Path) -> DepthTrainingRecord:
        path = Path(checkpoint) / TRAINING_RECORD
        if not path.is_file():
            raise DepthTrainingError(f"{checkpoint} has no {TRAINING_RECORD}: not a checkpoint written by train_depth")
        data = json.loads(path.read_text())
        return cls(**{**data, "scenes": tuple(data["scenes"]), "losses": tuple(data["losses"])})


def split_scenes(synth_root: Path) -> dict[str, tuple[str, ...]]:
    meta_path = Path(synth_root) / "meta.json"
    if not meta_path.is_file():
        raise DepthTrainingError(f"{meta_path} not found: generate spatial_synth first (skill3d-eval synth generate)")
    meta = json.loads(meta_path.read_text())
    return {"train": tuple(meta["train_scenes"]), "test": tuple(meta["test_scenes"])}


def load_frames(synth_root: Path, split: str, scenes: Sequence[str] | None = None, frames_per_scene: int | None = None) -> list[DepthFrame]:
    """The frames of `scenes` (default: all) of one split as the evaluator serves them: decoded
    from each scene's video (`frames_per_scene` of them sampled uniformly, as a model sampling
    that many frames sees them; default all), with their rendered truth from the oracle store."""
    import pandas as pd
    from skill3d_experts.oracle_store import OracleStore

    from skill3d_eval.media.video_sampling import uniform_indices
    from skill3d_eval.synth.schema import split_path
    from skill3d_eval.synth.video import decode_video

    members = split_scenes(synth_root)
    if split not in members:
        raise DepthTrainingError(f"unknown split {split!r}; spatial_synth has {sorted(members)}")
    wanted = tuple(scenes) if scenes is not None else members[split]
    strangers = [scene for scene in wanted if scene not in members[split]]
    if strangers:
        other = "test" if split == "train" else "train"
        where = ", ".join(f"{s} ({other} split)" if s in members[other] else f"{s} (no such scene)" for s in strangers)
        raise DepthTrainingError(f"scenes not in spatial_synth's {split} split (meta.json {split}_scenes): {where}")
    rows = pd.read_parquet(split_path(synth_root, split), columns=["scene_name", "video"])
    total = int(json.loads((Path(synth_root) / "meta.json").read_text())["args"]["frames"])
    store = OracleStore(Path(synth_root) / "oracle")
    frames = []
    for scene in wanted:
        first = rows[rows["scene_name"] == scene]
        if first.empty:
            raise DepthTrainingError(f"scene {scene} has no row in {split}.parquet")
        video = Path(synth_root) / str(first.iloc[0]["video"])
        if not video.is_file():
            raise DepthTrainingError(f"video {video} of scene {scene} is missing")
        decoded = decode_video(video, total)
        for index in uniform_indices(total, frames_per_scene or total).tolist():
            image = np.array(decoded[index])  # writable: the processor hands frames to torch
            truth = store.get(image)
            if truth.scene != scene:
                raise DepthTrainingError(f"oracle truth of a frame of {scene} names scene {truth.scene}")
            frames.append(DepthFrame(image, truth.depth, truth.intrinsics, truth.scene, truth.frame_index))
    return frames


def extra_frames(synth_root: Path, count: int) -> list[DepthFrame]:
    """`count` rooms rendered by the dataset's generator (its seed and `args`, but
    EXTRA_FRAMES_PER_ROOM frames each) at scene indices after the dataset's last, i.e. scenes that
    are in neither split, their frames passed through the dataset's video encoding as served
    frames are; cached as one .npz. Rooms, not frames of one room, are what teach metric depth:
    a dataset's 32 frames of a room would cost four times the rendering and memory for little."""
    import tempfile

    from skill3d_experts.oracle_store import OracleStore, frame_key

    from skill3d_eval.synth.generate import GENERATOR_VERSION, scene_name, scene_rng
    from skill3d_eval.synth.sampling import SceneParams, sample_scene
    from skill3d_eval.synth.video import film

    if count <= 0:
        return []
    synth_root = Path(synth_root)
    members = split_scenes(synth_root)
    meta = json.loads((synth_root / "meta.json").read_text())
    args, seed = meta["args"], int(meta["seed"])
    first = int(args["scenes"])
    params = SceneParams(**{key: args[key] for key in ("width", "height", "min_objects", "max_objects", "min_visible_pixels", "max_attempts")},
                         frames=EXTRA_FRAMES_PER_ROOM, min_views_per_object=args["min_views_per_object"])
    cache = synth_root.parent / f"{synth_root.name}{EXTRA_CACHE_SUFFIX}" / f"v{GENERATOR_VERSION}-seed{seed}-from{first}-n{count}-{params.width}x{params.height}x{params.frames}.npz"
    names = [scene_name(index) for index in range(first, first + count)]
    clash = sorted(set(names) & {*members["train"], *members["test"]})
    if clash:
        raise DepthTrainingError(f"generated scene names {clash} collide with {synth_root}'s scenes")
    if not cache.is_file():
        store = OracleStore(synth_root / "oracle")
        images, depths, intrinsics = [], [], []
        for index, name in zip(range(first, first + count), names):
            rendered = sample_scene(name, scene_rng(seed, index), params)
            with tempfile.TemporaryDirectory() as tmp:
                served = film([view.rgb for view in rendered.views], Path(tmp) / f"{name}.mp4")
            for image, view, camera in zip(served, rendered.views, rendered.scene.cameras, strict=True):
                if store.path_for(frame_key(image)).is_file():
                    raise DepthTrainingError(f"generated room {name} reproduces a frame of {synth_root}: not a new scene")
                images.append(image)
                depths.append(view.depth.astype(np.float32))
                intrinsics.append(camera.intrinsics)
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(".partial.npz")
        np.savez(partial, images=np.stack(images), depths=np.stack(depths), intrinsics=np.stack(intrinsics))
        partial.rename(cache)
    stored = np.load(cache)
    per_scene = params.frames
    return [
        DepthFrame(image, depth, k, names[i // per_scene], i % per_scene)
        for i, (image, depth, k) in enumerate(zip(stored["images"], stored["depths"], stored["intrinsics"], strict=True))
    ]


def training_frames(synth_root: Path, config: DepthTrainingConfig) -> list[DepthFrame]:
    """Frames of the training split only (a test scene among `config.scenes` is refused), plus
    `config.extra_scenes` generated rooms that belong to neither split."""
    return load_frames(synth_root, "train", config.scenes, config.frames_per_scene) + extra_frames(synth_root, config.extra_scenes)


def horizontal_fov_deg(frames: Sequence[DepthFrame]) -> float:
    """The one camera all frames share, as the backend's `fov_deg`; refuses what a centred
    square-pixel pinhole with that field of view cannot describe (RealDepth's K)."""
    first = frames[0]
    for frame in frames:
        if not np.allclose(frame.intrinsics, first.intrinsics) or frame.image.shape != first.image.shape:
            raise DepthTrainingError(f"frames of {first.scene} and {frame.scene} come from different cameras or sizes")
    height, width = first.image.shape[:2]
    k = first.intrinsics
    if not (np.isclose(k[0, 0], k[1, 1]) and np.isclose(k[0, 2], (width - 1) / 2) and np.isclose(k[1, 2], (height - 1) / 2)):
        raise DepthTrainingError(f"camera {k.tolist()} is not a centred square-pixel pinhole; fov_deg cannot describe it")
    return float(np.degrees(2 * np.arctan((width / 2) / k[0, 0])))


def build_model(config: DepthTrainingConfig) -> tuple[Any, Any]:
    """A randomly initialised metric Depth Anything and its image processor (resize to the
    network's input, ImageNet normalisation), as `RealDepth` will load them."""
    import torch
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config, DPTImageProcessorPil

    torch.manual_seed(config.seed)
    stride = max(config.layers // 4, 1)
    stages = [f"stage{i}" for i in range(stride, config.layers + 1, stride)][-4:]
    backbone = Dinov2Config(
        hidden_size=config.hidden_size, num_hidden_layers=config.layers, num_attention_heads=config.heads,
        intermediate_size=4 * config.hidden_size, image_size=max(config.height, config.width), patch_size=config.patch_size,
        out_features=stages, reshape_hidden_states=False,
    )
    depth_config = DepthAnythingConfig(
        backbone_config=backbone, patch_size=config.patch_size, reassemble_hidden_size=config.hidden_size,
        neck_hidden_sizes=[32, 64, 96, 128][: len(stages)], reassemble_factors=[4, 2, 1, 0.5][: len(stages)],
        fusion_hidden_size=config.fusion_hidden_size, head_hidden_size=16, depth_estimation_type="metric", max_depth=config.max_depth,
    )
    model = DepthAnythingForDepthEstimation(depth_config)
    processor = DPTImageProcessorPil(
        do_resize=True, size={"height": config.height, "width": config.width}, keep_aspect_ratio=False,
        ensure_multiple_of=config.patch_size, do_normalize=True, image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225],
    )
    return model, processor


def predict(model: Any, processor: Any, images: Sequence[np.ndarray]) -> np.ndarray:
    """Metric depth [N,H,W] of equal-size frames, computed as the `real` backend computes it
    (its processor, one forward pass, bicubic resize to the frame)."""
    import torch

    inputs = processor(images=list(images), return_tensors="pt")
    model.eval()
    with torch.inference_mode():
        predicted = model(**inputs).predicted_depth
    height, width = images[0].shape[:2]
    resized = torch.nn.functional.interpolate(predicted.unsqueeze(1), size=(height, width), mode="bicubic", align_corners=False)
    return resized[:, 0].float().numpy()


def _tensors(processor: Any, frames: Sequence[DepthFrame], downsample: int, chunk: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """Network inputs through the backend's processor, and the log truth area-pooled by
    `downsample` (the mean log depth of each block: its geometric mean depth), for the frames."""
    import torch

    pixels = torch.cat([processor(images=[f.image for f in frames[i : i + chunk]], return_tensors="pt")["pixel_values"] for i in range(0, len(frames), chunk)])
    height, width = frames[0].depth.shape
    if height % downsample or width % downsample:
        raise DepthTrainingError(f"loss_downsample {downsample} does not divide the frames' {width}x{height}")
    log_truth = torch.cat([
        torch.nn.functional.avg_pool2d(torch.from_numpy(np.stack([f.depth for f in frames[i : i + chunk]])).float().log().unsqueeze(1), downsample)[:, 0]
        for i in range(0, len(frames), chunk)
    ])
    return pixels, log_truth


def _mirrored(tensor: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """Half the batch mirrored: a centred camera's K is unchanged, so a mirror image is a new,
    exact training view (the processor's resize kernel is symmetric, so it commutes with mirroring)."""
    import torch

    return torch.where(flip.view(-1, *[1] * (tensor.dim() - 1)), tensor.flip(-1), tensor)


def _gradient_loss(log_predicted: torch.Tensor, log_truth: torch.Tensor, scales: int = 2) -> torch.Tensor:
    """Gradient matching on the log-depth error at `scales` resolutions (MiDaS): penalises an
    error that changes across a pixel step, i.e. blurred or misplaced object boundaries."""
    import torch

    error = (log_predicted - log_truth).unsqueeze(1)
    total = log_predicted.new_zeros(())
    for scale in range(scales):
        if scale:
            error = torch.nn.functional.avg_pool2d(error, 2)
        total = total + (error[..., :, 1:] - error[..., :, :-1]).abs().mean() + (error[..., 1:, :] - error[..., :-1, :]).abs().mean()
    return total / scales


def _learning_rate(config: DepthTrainingConfig, progress: float) -> float:
    if progress < config.warmup_fraction:
        return config.learning_rate * max(progress / config.warmup_fraction, 0.05)
    return config.learning_rate * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def train_depth(synth_root: Path, out_dir: Path, config: DepthTrainingConfig = DepthTrainingConfig()) -> DepthTrainingRecord:
    """Train on the training split for `config.minutes` of wall time (or `max_steps`) and save
    the checkpoint (model, processor, `training.json`) into `out_dir`.

    Loss: L1 between log depths, i.e. the relative error the benchmark measures, equally
    weighted near and far, on the prediction resized as served (bicubic) to the frame's size /
    `loss_downsample`; plus `gradient_weight` times multi-scale gradient matching of the log depths."""
    import contextlib

    import torch

    frames = training_frames(synth_root, config)
    if not frames:
        raise DepthTrainingError("no training frames selected")
    fov_deg = horizontal_fov_deg(frames)
    torch.set_num_threads(config.threads)
    model, processor = build_model(config)
    mean_log = float(np.mean([np.log(frame.depth).mean() for frame in frames]))
    with torch.no_grad():  # start from the training set's mean depth, not from max_depth / 2
        model.head.conv3.bias.fill_(math.log(math.exp(mean_log) / (config.max_depth - math.exp(mean_log))))
    pixels, log_truth = _tensors(processor, frames, config.loss_downsample)
    height, width = log_truth.shape[1:]
    layout = torch.channels_last if config.channels_last else torch.contiguous_format
    model = model.to(memory_format=layout)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    budget_s = config.minutes * 60
    losses: list[float] = []
    started = time.perf_counter()
    order = torch.randperm(len(pixels), generator=generator)
    cursor = 0
    model.train()
    while True:
        elapsed = time.perf_counter() - started
        progress = len(losses) / config.max_steps if config.max_steps else elapsed / budget_s
        if progress >= 1.0 or (config.max_steps is None and elapsed >= budget_s):
            break
        if cursor + config.batch_size > len(order):
            order, cursor = torch.randperm(len(pixels), generator=generator), 0
        batch = order[cursor : cursor + config.batch_size]
        cursor += config.batch_size
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(config, progress)
        flip = torch.rand(len(batch), generator=generator) < 0.5
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if config.bf16 else contextlib.nullcontext()
        with autocast:
            predicted = model(pixel_values=_mirrored(pixels[batch], flip).contiguous(memory_format=layout)).predicted_depth
        predicted = predicted.float()
        if predicted.shape[1:] != (height, width):
            predicted = torch.nn.functional.interpolate(predicted.unsqueeze(1), size=(height, width), mode="bicubic", align_corners=False)[:, 0]
        log_predicted, log_target = predicted.clamp_min(1e-3).log(), _mirrored(log_truth[batch], flip)
        loss = (log_predicted - log_target).abs().mean()
        if config.gradient_weight:
            loss = loss + config.gradient_weight * _gradient_loss(log_predicted, log_target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - started
    out_dir = Path(out_dir)
    model.to(memory_format=torch.contiguous_format).eval().save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    record = DepthTrainingRecord(
        scenes=tuple(dict.fromkeys(frame.scene for frame in frames)), frames=len(frames), steps=len(losses),
        seconds=round(seconds, 1), fov_deg=fov_deg, losses=tuple(round(x, 5) for x in losses),
        config={**asdict(config), "scenes": list(config.scenes) if config.scenes else None},
    )
    record.save(out_dir)
    return record


def mean_depth_map(frames: Sequence[DepthFrame]) -> np.ndarray:
    """The baseline: the per-pixel mean depth of the (training) frames, predicted for every frame."""
    return np.mean([frame.depth for frame in frames], axis=0).astype(np.float32)


def median_relative_error(predictions: Sequence[np.ndarray], frames: Sequence[DepthFrame]) -> float:
    """Median over every pixel of every frame of |pred - true| / true."""
    if len(predictions) != len(frames):
        raise DepthTrainingError(f"{len(predictions)} predictions for {len(frames)} frames")
    errors = [np.abs(np.asarray(p, dtype=np.float64) - f.depth) / f.depth for p, f in zip(predictions, frames)]
    return float(np.median(np.concatenate([e.ravel() for e in errors])))


def served_depth(experts: Experts, frames: Sequence[DepthFrame]) -> list[np.ndarray]:
    """Each frame's depth as the `depth` model serves it (through the client, one request per frame)."""
    return [experts.depth(frame.image).depth for frame in frames]
