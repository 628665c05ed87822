"""Triton Python-backend entry point of the `depth` expert; the logic lives in skill3d_experts.depth."""

from skill3d_experts.depth import TritonPythonModel  # noqa: F401
