"""Training compact agents on exported skill-guided trajectories: rewards, SFT and GRPO on TRL.

Run from the repository root as modules (`python -m train.sft --config ...`), or through the
multi-GPU wrappers in this directory (`train/launch.sh`).
"""
