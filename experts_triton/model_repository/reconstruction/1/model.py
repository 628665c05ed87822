"""Triton Python-backend entry point of the `reconstruction` expert; the logic lives in skill3d_experts.reconstruction."""

from skill3d_experts.reconstruction import TritonPythonModel  # noqa: F401
