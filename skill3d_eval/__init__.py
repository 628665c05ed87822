"""Skill-3D evaluation harness: an lmms-eval model whose generate step runs a tool-using agent."""

__version__ = "0.1.0"
