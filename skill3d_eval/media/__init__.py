"""Decoding media that tasks hand over as paths (videos) into frames the agent can use."""

from skill3d_eval.media.video import (
    VideoDecodeError,
    is_video_path,
    sample_frames,
    uniform_indices,
)

__all__ = ["VideoDecodeError", "is_video_path", "sample_frames", "uniform_indices"]
