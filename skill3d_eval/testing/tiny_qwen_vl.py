"""A tiny, randomly initialised Qwen3-VL or Qwen2.5-VL checkpoint built from a config, for smoke runs.

No weights can be downloaded here, and training code must still run end to end on CPU: this
builds the real model class, a byte-level BPE tokenizer trained on a small corpus (with Qwen's
special tokens), the real image processor and the family's real chat template, and saves them
as an ordinary checkpoint directory that `from_pretrained` loads. The templates are the ones the
released checkpoints ship (TRL keeps byte-identical copies to recognise them): Qwen3-VL's
renders tools; Qwen2.5-VL's has no tools branch, which is what the local backend must cope with.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import torch
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    PreTrainedTokenizerFast,
    ProcessorMixin,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2_5_VLProcessor,
    Qwen2VLImageProcessorPil,
    Qwen3VLConfig,
    Qwen3VLForConditionalGeneration,
    Qwen3VLProcessor,
)
from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor
from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor
from trl.chat_template_utils import qwen2_5_vl_chat_template, qwen3_template, qwen3_vl_chat_template

from skill3d_eval.agent.chat import SYSTEM_PROMPT
from skill3d_eval.tools import default_toolset

Family = Literal["qwen3_vl", "qwen2_5_vl"]

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
# Single tokens as in Qwen's vocabulary, but not special: they survive decoding, so tool calls can be parsed.
TOOL_TOKENS = ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"]
# Enough text for the BPE to learn the prompt's, the tool schemas' and the chat template's frequent
# pieces, so a conversation costs few tokens (the schemas alone are ~5k characters).
_CORPUS = [
    SYSTEM_PROMPT,
    json.dumps(default_toolset().openai_schemas()),
    "system user assistant tool You are a helpful assistant.",
    '{"name": "locate_objects", "arguments": {"category": "chair"}}',
    '{"name": "measure_distance", "arguments": {"object_a": "table", "object_b": "sofa"}}',
    "How many chair(s) are in this room? What is the distance between the table and the sofa (in meters)?",
    "# Tools You may call one or more functions to assist with the user query. <tools></tools> function signatures",
    "0 1 2 3 4 5 6 7 8 9 10 0.5 1.25 2.4 meters count center_distance_m Image Options A B C D",
]


def tiny_tokenizer(vocab_size: int = 2048, corpus: Sequence[str] = (), *, words_apart: bool = False) -> PreTrainedTokenizerFast:
    """`corpus`: more text to learn pieces from (e.g. a training set's conversations), so its
    recurring words are single tokens a tiny model can copy in one step. Digits are split one per
    token, as Qwen's pre-tokenizer does, so a number is copied digit by digit, never as an odd merge.
    `words_apart`: a word is never merged with the space or punctuation around it (Qwen's, like GPT's,
    merges the space before it), so "the sofa" in a question and `"sofa"` in a tool call's JSON hold the
    same token `sofa`: copying it is then the identity, which a model trained from scratch learns far
    sooner than one mapping per word."""
    tokenizer = Tokenizer(models.BPE())
    words = [pre_tokenizers.Split(Regex("[A-Za-z]+"), behavior="isolated")] if words_apart else []
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=not words_apart)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([*words, pre_tokenizers.Digits(individual_digits=True), byte_level])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator([*_CORPUS * 4, *corpus], trainer=trainer)
    tokenizer.add_special_tokens([AddedToken(token, special=True, normalized=False) for token in SPECIAL_TOKENS])
    tokenizer.add_tokens([AddedToken(token, special=False, normalized=False) for token in TOOL_TOKENS])
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        padding_side="left",
        extra_special_tokens={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>", "vision_start_token": "<|vision_start|>", "vision_end_token": "<|vision_end|>"},
    )


def tiny_processor(
    max_pixels: int = 64 * 64, family: Family = "qwen3_vl", chat_template: str | None = None, corpus: Sequence[str] = (), words_apart: bool = False
) -> ProcessorMixin:
    """Images are resized to at most `max_pixels` so each one costs a handful of tokens.
    `chat_template`: instead of the family's own (e.g. train/templates/qwen2_5_vl_tools.jinja).
    `corpus`, `words_apart`: how the tokenizer is trained (`tiny_tokenizer`)."""
    if family == "qwen2_5_vl":
        # Qwen2.5-VL's 14-pixel patches, merged 2x2: 28-pixel units.
        size = {"shortest_edge": 28 * 28, "longest_edge": max_pixels}
        return Qwen2_5_VLProcessor(
            image_processor=Qwen2VLImageProcessorPil(patch_size=14, merge_size=2, temporal_patch_size=2, size=size),
            tokenizer=tiny_tokenizer(corpus=corpus, words_apart=words_apart),
            video_processor=Qwen2VLVideoProcessor(patch_size=14, merge_size=2, temporal_patch_size=2, size=size),
            chat_template=chat_template or qwen2_5_vl_chat_template,
        )
    image_processor = Qwen2VLImageProcessorPil(patch_size=16, merge_size=2, temporal_patch_size=2, size={"shortest_edge": 32 * 32, "longest_edge": max_pixels})
    video_processor = Qwen3VLVideoProcessor(patch_size=16, merge_size=2, temporal_patch_size=2, size={"shortest_edge": 32 * 32, "longest_edge": max_pixels})
    return Qwen3VLProcessor(image_processor=image_processor, tokenizer=tiny_tokenizer(corpus=corpus, words_apart=words_apart), video_processor=video_processor, chat_template=chat_template or qwen3_vl_chat_template)


def _mrope_section(head_dim: int) -> list[int]:
    """Half the head's rotary pairs to time, a quarter each to height and width (Qwen's split, scaled)."""
    return [head_dim // 4, head_dim // 8, head_dim // 8]


def tiny_config(tokenizer: PreTrainedTokenizerFast, hidden_size: int = 32, layers: int = 2, tied_embeddings: bool = False) -> Qwen3VLConfig:
    """`tied_embeddings`: the output layer is the input embedding (as in Qwen's smallest checkpoints),
    so a token the attention carries over from the prompt already scores itself highest: copying
    a word is nearly free to learn."""
    ids = tokenizer.convert_tokens_to_ids
    head_dim = hidden_size // 4
    text = {
        "vocab_size": len(tokenizer), "hidden_size": hidden_size, "intermediate_size": 2 * hidden_size, "num_hidden_layers": layers,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": head_dim, "max_position_embeddings": 32768,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": _mrope_section(head_dim), "mrope_interleaved": True},
        "pad_token_id": ids("<|endoftext|>"), "bos_token_id": ids("<|endoftext|>"), "eos_token_id": ids("<|im_end|>"),
    }
    vision = {
        "depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 4, "patch_size": 16, "spatial_merge_size": 2,
        "temporal_patch_size": 2, "out_hidden_size": hidden_size, "num_position_embeddings": 64, "deepstack_visual_indexes": [1],
    }
    return Qwen3VLConfig(
        text_config=text, vision_config=vision,
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
        tie_word_embeddings=tied_embeddings,
    )


def tiny_qwen2_5_vl_config(tokenizer: PreTrainedTokenizerFast, hidden_size: int = 32, layers: int = 2) -> Qwen2_5_VLConfig:
    ids = tokenizer.convert_tokens_to_ids
    text = {
        "vocab_size": len(tokenizer), "hidden_size": hidden_size, "intermediate_size": 2 * hidden_size, "num_hidden_layers": layers,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 32768,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": _mrope_section(hidden_size // 4)},
        "pad_token_id": ids("<|endoftext|>"), "bos_token_id": ids("<|endoftext|>"), "eos_token_id": ids("<|im_end|>"),
    }
    vision = {
        "depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 4, "patch_size": 14, "spatial_merge_size": 2,
        "temporal_patch_size": 2, "out_hidden_size": hidden_size, "window_size": 56, "fullatt_block_indexes": [1],
    }
    return Qwen2_5_VLConfig(
        text_config=text, vision_config=vision,
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
    )


def build_tiny_qwen_vl(
    out_dir: Path,
    seed: int = 0,
    *,
    family: Family = "qwen3_vl",
    chat_template: str | None = None,
    corpus: Sequence[str] = (),
    hidden_size: int = 32,
    layers: int = 2,
    words_apart: bool = False,
    tied_embeddings: bool = False,
) -> Path:
    """Write a loadable checkpoint (model, tokenizer, processor, chat template) to `out_dir`.
    The defaults make the smallest model that runs; a model meant to learn something (the tiny
    agent of `benchmarks/tiny_agent.py`) gets its training text as `corpus` and more width."""
    torch.manual_seed(seed)
    processor = tiny_processor(family=family, chat_template=chat_template, corpus=corpus, words_apart=words_apart)
    if family == "qwen2_5_vl":
        model = Qwen2_5_VLForConditionalGeneration(tiny_qwen2_5_vl_config(processor.tokenizer, hidden_size, layers))
    else:
        model = Qwen3VLForConditionalGeneration(tiny_config(processor.tokenizer, hidden_size, layers, tied_embeddings))
    # How a reply's `<tool_call>` JSON is parsed (`tokenizer.parse_response`, used by TRL's GRPO tool rollouts):
    # TRL sets this only for chat templates it recognises byte for byte, not for a `chat_template=` of ours.
    processor.tokenizer.response_template = qwen3_template
    model.generation_config.eos_token_id = processor.tokenizer.eos_token_id
    model.generation_config.pad_token_id = processor.tokenizer.pad_token_id
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    (out_dir / "tiny_model.json").write_text(json.dumps({"builder": "skill3d_eval.testing.tiny_qwen_vl", "family": family, "seed": seed, "hidden_size": hidden_size, "layers": layers, "words_apart": words_apart, "tied_embeddings": tied_embeddings}))
    return out_dir
