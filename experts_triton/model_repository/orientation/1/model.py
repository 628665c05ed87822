"""Triton Python-backend entry point of the `orientation` expert; the logic lives in skill3d_experts.orientation."""

from skill3d_experts.orientation import TritonPythonModel  # noqa: F401
