"""Triton Python-backend entry point of the `super_resolution` expert; the logic lives in skill3d_experts.super_resolution."""

from skill3d_experts.super_resolution import TritonPythonModel  # noqa: F401
