"""A scene's frames as the H.264 video its VSI questions are asked about, and the frames an
evaluator decodes from it.

VSI-Bench hands models a video (`doc_to_visual` returns its path) and the model samples
`num_frames` frames itself, so spatial_synth does the same and the synthetic benchmark exercises
that path. H.264 is lossy, so the pixels a model sees are the decoder's, not the renderer's: the
generator decodes every frame back with the evaluator's own decoder (`media.video.sample_frames`,
the same PyAV) and registers the oracle truths under those pixels. Every frame any `num_frames`
can sample is then known to the oracle.

Encoding is deterministic for the same PyAV build: one encoder thread (x264's output depends on
its thread count), a fixed GOP with no scene-cut keyframes, constant quality, no macroblock-tree
rate control (with it, the first encode in a process came out different from later ones in 6 of
10 processes here; without it 13 of 13 were identical), and a container without creation time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np

from skill3d_eval.media import limits
from skill3d_eval.media.frame_cache import FrameCache
from skill3d_eval.media.video import sample_frames

VIDEO_DIR = "videos"
FPS = 10
GOP = 16
CRF = 18  # visually lossless: real experts see the scene, not compression artefacts
_X264 = {"preset": "veryfast", "crf": str(CRF), "x264-params": f"keyint={GOP}:min-keyint={GOP}:scenecut=0:no-mbtree=1"}


def video_relative(scene: str) -> str:
    """A scene's video, relative to the dataset root (a VSI row's `video` column)."""
    return f"{VIDEO_DIR}/{scene}.mp4"


def encode_video(frames: Sequence[np.ndarray], path: Path) -> None:
    """Write RGB uint8 frames [H,W,3] (even H and W: yuv420p halves chroma) as an H.264 mp4."""
    if not frames:
        raise ValueError(f"{path}: no frames to encode")
    height, width = frames[0].shape[:2]
    if height % 2 or width % 2:
        raise ValueError(f"{path}: frames are {width}x{height}; H.264 in yuv420p needs an even width and height")
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS, options=dict(_X264))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.thread_count = 1
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def film(frames: Sequence[np.ndarray], path: Path) -> tuple[np.ndarray, ...]:
    """Encode `frames` into `path` and answer them as the evaluator will decode them: the pixels
    whose truth a frame's oracle key, or a trained model's input, must be."""
    encode_video(frames, path)
    return decode_video(path, len(frames))


def decode_video(path: Path, frames: int) -> tuple[np.ndarray, ...]:
    """All `frames` frames of the video as the evaluator decodes them (a private cache: nothing
    is kept after the call); ValueError when the video holds another number of frames."""
    bounds = limits.MediaLimits(max_frames=max(frames, limits.DEFAULT_MAX_FRAMES))
    with limits.applied(bounds):
        decoded = sample_frames(path, frames, cache=FrameCache(0))
    if len(decoded) != frames:
        raise ValueError(f"{path}: decoded {len(decoded)} frames, expected {frames}")
    return decoded
