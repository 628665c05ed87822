"""Triton Python-backend entry point of the `detection` expert; the logic lives in skill3d_experts.detection."""

from skill3d_experts.detection import TritonPythonModel  # noqa: F401
