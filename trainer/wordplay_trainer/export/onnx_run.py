"""model.onnx run as the completion engine runs it (src/core/complete/generate.ts), with
onnxruntime on the CPU: a prompt prefilled, then one token at a time through the KV cache, each
step's present_* fed back as the next past_*, all_positions false. The int8 export's speed
report (onnx_model.py) and the GPU check's parity with PyTorch (check/parity.py) run it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .onnx_graph import ALL_POSITIONS, INPUT_IDS, LOGITS, POSITION_IDS, past_names, present_names


def open_session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def cached_steps(
    session: ort.InferenceSession, meta: dict, prompt: np.ndarray, tokens: np.ndarray
) -> Iterator[np.ndarray]:
    """The last position's logits (batch, vocab_size) after prefilling `prompt` (batch, T), then
    after each column of `tokens` (batch, S), fed one position at a time; `meta` is model.json."""
    n_layer, width = meta["kv_cache"]["n_layer"], meta["kv_cache"]["width"]
    batch, length = prompt.shape
    fetch = [LOGITS, *present_names(n_layer)]
    feeds = {
        INPUT_IDS: prompt.astype(np.int64),
        POSITION_IDS: np.tile(np.arange(length, dtype=np.int64), (batch, 1)),
        ALL_POSITIONS: np.array(False),
        **{name: np.zeros((batch, 0, width), np.float32) for name in past_names(n_layer)},
    }
    logits, *presents = session.run(fetch, feeds)
    yield logits
    for i in range(tokens.shape[1]):
        feeds = {
            INPUT_IDS: tokens[:, i : i + 1].astype(np.int64),
            POSITION_IDS: np.full((batch, 1), length + i, np.int64),
            ALL_POSITIONS: np.array(False),
            **dict(zip(past_names(n_layer), presents, strict=True)),
        }
        logits, *presents = session.run(fetch, feeds)
        yield logits
