"""The checkpoint a training run starts from, loaded, or refused with a message that names it.

`model:` is a checkpoint directory or a model id (from the local HF cache when offline, as the
machines here run). A wrong path must end as a one-line error that says which setting to fix,
like every other bad input of the training entry points, not as the Hub client's traceback.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import AutoModelForImageTextToText, AutoProcessor

from train.config import ConfigError


def load_pretrained(model: str, **processor_options: Any) -> tuple[Any, Any]:
    """(processor, model) of the checkpoint `model`, in float32 (CPU training and the reference runs)."""
    try:
        processor = AutoProcessor.from_pretrained(model, **processor_options)
        network = AutoModelForImageTextToText.from_pretrained(model, dtype=torch.float32)
    except (OSError, ValueError) as exc:  # missing (OSError), or a directory with no processor / config (ValueError)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"model: {model!r} is not a checkpoint directory or a model in the local HF cache: {reason}") from None
    return processor, network
