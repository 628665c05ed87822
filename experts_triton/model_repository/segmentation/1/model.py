"""Triton Python-backend entry point of the `segmentation` expert; the logic lives in skill3d_experts.segmentation."""

from skill3d_experts.segmentation import TritonPythonModel  # noqa: F401
