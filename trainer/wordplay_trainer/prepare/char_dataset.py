"""A char-level dataset folder written from a text in Python, exactly as `wordplay prepare
--tokenizer char` writes it (src/core/prepare/prepare.ts; the contract: schemas/dataset.json and
README 'prepare'), for the GPU check and the tests, which have no Node.js to run prepare with.

The vocabulary is the sorted distinct characters (code points, as Python's sorted(set(text))),
the first train_fraction of the characters are train.bin and the rest val.bin, little-endian
uint16 (uint32 past uint16_max_vocab entries); tokenizer.json and meta.json are JSON as
JavaScript's JSON.stringify(value, null, 2) writes it, with a final newline. The folder appears
whole (common/files.py's new_folder), as prepare's does, and a text prepare refuses (empty, or
too short for two tokens on each side of the split) is refused with prepare's message."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..common.errors import TrainerError
from ..common.files import new_folder
from .dataset import DATASET, FILES, token_dtype


def js_json(value) -> str:
    """JSON.stringify(value, null, 2) + a newline: non-ASCII characters as they are."""
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def js_now() -> str:
    """The time now as JavaScript's Date.toISOString writes it (UTC, milliseconds, Z)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_char_dataset(text: str, out: Path, source: str) -> dict:
    """Writes `text` (read from the file `source`) as a char dataset folder `out`, which must be
    absent or empty; returns its meta.json. Raises TrainerError for a text prepare refuses."""
    if not text:
        raise TrainerError(f"the input is empty ({source}). Give it some text.")
    split = math.floor(len(text) * DATASET["train_fraction"])
    if split < 2 or len(text) - split < 2:
        held_out = round(100 * (1 - DATASET["train_fraction"]))
        raise TrainerError(
            f"the input is too short for a validation split: {len(text)} characters give {split} train "
            f"and {len(text) - split} val tokens (the last {held_out}% is held out for validation). "
            "Give at least a few hundred characters."
        )
    vocab = sorted(set(text))
    index = {ch: i for i, ch in enumerate(vocab)}
    dtype = np.dtype(token_dtype(len(vocab))).newbyteorder("<")
    ids = np.fromiter((index[ch] for ch in text), dtype=dtype, count=len(text))
    total_bytes = len(text.encode("utf-8"))
    train_bytes = len(text[:split].encode("utf-8"))
    meta = {
        "source": [source],
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "tokenizer": "char",
        "vocab_size": len(vocab),
        "dtype": dtype.name,
        "documents": 1,
        "characters": len(text),
        "train_characters": split,
        "train_tokens": split,
        "val_tokens": len(text) - split,
        "train_bytes": train_bytes,
        "val_bytes": total_bytes - train_bytes,
        "created": js_now(),
    }
    if dtype.name == "uint32":
        meta["note"] = (
            f"the vocabulary has {len(vocab)} entries, more than uint16 holds, so the ids are uint32"
        )
    with new_folder(out) as tmp:
        ids[:split].tofile(tmp / FILES["train"])
        ids[split:].tofile(tmp / FILES["val"])
        (tmp / FILES["tokenizer"]).write_text(js_json({"type": "char", "vocab": vocab}), encoding="utf-8")
        (tmp / FILES["meta"]).write_text(js_json(meta), encoding="utf-8")
    return meta
