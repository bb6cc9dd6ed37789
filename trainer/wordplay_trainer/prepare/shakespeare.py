"""Tiny Shakespeare, nanoGPT's first dataset, shipped in corpus/ (gzip) with the sha256 of its
text in corpus/tinyshakespeare.json, the file src/core/prepare/shakespeare.ts reads too. The text
is checked against that hash on every read."""

from __future__ import annotations

import gzip
import hashlib
import json

from ..common.errors import TrainerError
from ..common.schemas import PACKAGE_DIR

CORPUS_DIR = PACKAGE_DIR.parents[1] / "corpus"
CORPUS = json.loads((CORPUS_DIR / "tinyshakespeare.json").read_text(encoding="utf-8"))
SHIPPED = CORPUS_DIR / CORPUS["file"]


def shakespeare_text() -> str:
    """The text, decompressed from the shipped copy and verified."""
    try:
        raw = gzip.decompress(SHIPPED.read_bytes())
    except (OSError, EOFError) as e:
        raise TrainerError(
            f"the shipped tiny Shakespeare ({SHIPPED}) cannot be read: {e}. Reinstall wordplay, or "
            "restore the file with git.",
            str(SHIPPED),
        ) from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != CORPUS["sha256"]:
        raise TrainerError(
            f"the shipped tiny Shakespeare ({SHIPPED}) is damaged: its text has sha256 {digest}, not "
            f"{CORPUS['sha256']}. Reinstall wordplay, or restore the file with git.",
            str(SHIPPED),
        )
    return raw.decode("utf-8")
