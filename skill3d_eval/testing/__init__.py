"""Tiny, randomly initialised checkpoints of real architectures, built from configs.

Nothing can be downloaded here, so tests, benchmarks and smoke runs exercise the real loading,
preprocessing and forward passes on these: `tiny_experts` for the Triton experts,
`tiny_qwen_vl` for the local agent model that training produces.
"""
