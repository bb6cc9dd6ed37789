"""The dataset folder (train.bin, val.bin, tokenizer.json, meta.json: schemas/dataset.json, as
`wordplay prepare` writes it) read through np.memmap, and its tokenizer's facts.

The ids are as wide as meta.json's dtype says (uint16, or uint32 for a vocabulary past 65,535).
A dataset prepared with a Hugging Face model folder's tokenizer (meta.json's tokenizer "hf") has
the folder's tokenizer.json verbatim; its tokenizer here is {"type": "hf", "source": the folder,
"end_of_text": meta.json's end_of_text, "json": tokenizer.json}, the spec model.json carries too
(src/core/prepare/tokenizerBase.ts), read with the `tokenizers` library.

A batch is one vectorised gather: random offsets, plus arange(block_size + 1), index the
memmap once. Offsets come from the loader's own torch.Generator seeded from train.seed, so
batches are reproducible and, with its state saved in the checkpoint, resumable. Every
process draws the same offsets for all micro-batches of a step and takes its own share, so
N processes see exactly the micro-batches one process with N times the accumulation sees.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from ..common.errors import TrainerError
from ..common.schemas import read_json

GPT2_VOCAB = read_json("gpt2.json")["vocab_size"]
GPT2_END_OF_TEXT = read_json("gpt2.json")["end_of_text"]
BPE_END_OF_TEXT = read_json("bpe.json")["end_of_text"]
DATASET = read_json("dataset.json")
FILES = DATASET["files"]  # by role: train, val, tokenizer, meta
WIDTHS = {"uint16": "<u2", "uint32": "<u4"}  # meta.json's dtype: little-endian ids


def token_dtype(vocab_size: int) -> type[np.unsignedinteger]:
    """uint16 ids up to uint16_max_vocab entries, uint32 beyond."""
    return np.uint16 if vocab_size <= DATASET["uint16_max_vocab"] else np.uint32


def tokenizer_kind(tokenizer: dict) -> str:
    """char, gpt2 and hf (a model folder's tokenizer.json, wrapped) are wordplay's own
    {"type": ...}; bpe is a Hugging Face tokenizer.json (trained by prepare/bpe.py), which has a
    "model" object instead."""
    if tokenizer.get("type") in ("char", "gpt2", "hf"):
        return tokenizer["type"]
    if isinstance(tokenizer.get("model"), dict) and tokenizer["model"].get("type") == "BPE":
        return "bpe"
    raise ValueError(f"unknown tokenizer type {tokenizer.get('type')!r}")


def tokenizer_vocab_size(tokenizer: dict) -> int:
    kind = tokenizer_kind(tokenizer)
    if kind == "char":
        return len(tokenizer["vocab"])
    if kind == "gpt2":
        return GPT2_VOCAB
    hf = tokenizer_json(tokenizer)
    ids = [*hf["model"]["vocab"].values(), *(t["id"] for t in hf.get("added_tokens", []))]
    return max(ids) + 1


def tokenizer_json(tokenizer: dict) -> dict | None:
    """The Hugging Face tokenizer.json of a bpe or hf tokenizer (for hf, the model folder's
    verbatim), or None for char and gpt2."""
    kind = tokenizer_kind(tokenizer)
    return tokenizer if kind == "bpe" else tokenizer["json"] if kind == "hf" else None


def hf_tokenizer(tokenizer: dict):
    """A bpe or hf tokenizer as a `tokenizers.Tokenizer`, which gives the ids prepare wrote with
    encode(text, add_special_tokens=False)."""
    from tokenizers import Tokenizer

    return Tokenizer.from_str(json.dumps(tokenizer_json(tokenizer)))


def end_of_text(tokenizer: dict) -> int | None:
    """The id between documents: gpt2's and bpe's <|endoftext|>, an hf tokenizer's own (its
    folder's eos, which prepare recorded in meta.json), None for char."""
    kind = tokenizer_kind(tokenizer)
    if kind == "hf":
        return tokenizer["end_of_text"]
    if kind == "gpt2":
        return GPT2_END_OF_TEXT
    if kind == "bpe":
        return next(t["id"] for t in tokenizer["added_tokens"] if t["content"] == BPE_END_OF_TEXT)
    return None


def tokens_per_byte(meta: dict, split: str) -> float | None:
    """`{split}_tokens / {split}_bytes` from a dataset's meta.json, or None unless both are
    positive integers (older datasets lack the byte counts: no ratio is ever invented)."""
    tokens, size = meta.get(f"{split}_tokens"), meta.get(f"{split}_bytes")
    if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in (tokens, size)):
        return None
    return tokens / size


def bits_per_byte(loss: float, ratio: float | None) -> float | None:
    """A mean loss in nats per token as bits per UTF-8 byte of text, which compares across
    tokenizers (a char, GPT-2 or BPE vocabulary). `ratio` is tokens per byte (tokens_per_byte);
    None without it or without a finite loss."""
    if ratio is None or not math.isfinite(loss):
        return None
    return loss * ratio / math.log(2)


class Dataset:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        key = "data.dataset"
        if not self.path.is_dir():
            raise TrainerError(
                f"dataset folder {self.path} does not exist; run `wordplay prepare` to create it "
                "or set data.dataset to a prepared dataset folder",
                key,
            )
        for name in FILES.values():
            if not (self.path / name).is_file():
                raise TrainerError(
                    f"{self.path / name} is missing: {self.path} is not a complete dataset; "
                    "prepare it again with `wordplay prepare`",
                    str(self.path / name),
                )
        tokenizer_file = self.path / FILES["tokenizer"]
        self.tokenizer = self._json(FILES["tokenizer"])
        self.meta = self._json(FILES["meta"])
        if self.meta.get("tokenizer") == "hf":
            self.tokenizer = self._hf_spec(tokenizer_file)
        try:
            self.vocab_size = tokenizer_vocab_size(self.tokenizer)
        except (KeyError, TypeError, ValueError, StopIteration) as e:
            raise TrainerError(
                f"{tokenizer_file} is malformed ({e}); prepare the dataset again", str(tokenizer_file)
            ) from None
        dtype = self._width()
        self.dtype = dtype
        self.splits: dict[str, np.memmap] = {}
        for split in ("train", "val"):
            file = self.path / FILES[split]
            size = file.stat().st_size
            itemsize = np.dtype(dtype).itemsize
            if size == 0 or size % itemsize:
                raise TrainerError(
                    f"{file} is empty or truncated ({size} bytes, not a whole number of "
                    f"{np.dtype(dtype).name} tokens); prepare the dataset again",
                    str(file),
                )
            data = np.memmap(file, dtype=dtype, mode="r")
            head = np.asarray(data[:10_000_000])
            if int(head.max()) >= self.vocab_size:
                raise TrainerError(
                    f"{file} holds token id {int(head.max())}, outside the vocabulary of "
                    f"{self.vocab_size} in {FILES['tokenizer']}; prepare the dataset again",
                    str(file),
                )
            self.splits[split] = data

    def _hf_spec(self, tokenizer_file: Path) -> dict:
        """A model folder's tokenizer.json wrapped with meta.json's facts, checked to load in
        `tokenizers`."""
        meta_file = self.path / FILES["meta"]
        eot = self.meta.get("end_of_text")
        if not isinstance(self.meta.get("tokenizer_source"), str) or not (
            eot is None or isinstance(eot, int)
        ):
            raise TrainerError(
                f"{meta_file} says tokenizer hf but lacks tokenizer_source (a folder) or has an end_of_text "
                "that is not an id; prepare the dataset again",
                str(meta_file),
            )
        spec = {
            "type": "hf",
            "source": self.meta["tokenizer_source"],
            "end_of_text": eot,
            "json": self.tokenizer,
        }
        try:
            hf_tokenizer(spec)
        except Exception as e:  # tokenizers raises its own Exception with the reason
            raise TrainerError(
                f"{tokenizer_file} cannot be read by the tokenizers library ({e}); prepare the dataset again",
                str(tokenizer_file),
            ) from None
        return spec

    def _width(self) -> np.dtype:
        """meta.json's dtype (datasets prepared before it was recorded: by the vocabulary)."""
        name = self.meta.get("dtype")
        if name is None:
            return np.dtype(token_dtype(self.vocab_size)).newbyteorder("<")
        meta_file = self.path / FILES["meta"]
        if name not in WIDTHS:
            raise TrainerError(
                f"{meta_file} has dtype {name!r}, not one of {', '.join(WIDTHS)}; prepare the dataset again",
                str(meta_file),
            )
        if name == "uint16" and self.vocab_size > DATASET["uint16_max_vocab"]:
            raise TrainerError(
                f"{meta_file} has dtype uint16 but its tokenizer has {self.vocab_size} tokens, more than "
                "uint16 holds; prepare the dataset again",
                str(meta_file),
            )
        return np.dtype(WIDTHS[name])

    def _json(self, name: str) -> dict:
        file = self.path / name
        try:
            value = json.loads(file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise TrainerError(
                f"{file} is not valid JSON ({e}); prepare the dataset again", str(file)
            ) from None
        if not isinstance(value, dict):
            raise TrainerError(f"{file} must hold a JSON object; prepare the dataset again", str(file))
        return value

    def tokens(self, split: str) -> int:
        return len(self.splits[split])

    @property
    def val_tokens_per_byte(self) -> float | None:
        """meta.json's val_tokens / val_bytes: what turns val loss (nats per token) into bits per
        byte; None for a dataset prepared before meta.json carried the byte counts."""
        return tokens_per_byte(self.meta, "val")

    def val_bits_per_byte(self, loss: float) -> float | None:
        """A val loss (nats per token) as bits per byte; None when the ratio is unknown."""
        return bits_per_byte(loss, self.val_tokens_per_byte)

    def check_block_size(self, block_size: int) -> None:
        for split in ("train", "val"):
            n = self.tokens(split)
            if block_size >= n:
                raise TrainerError(
                    f"model.block_size {block_size} is not smaller than the {n} tokens of {FILES[split]} in "
                    f"{self.path}; set model.block_size to at most {n - 1} or use a larger dataset",
                    "model.block_size",
                )


class Batches:
    """Random training windows, gathered in one indexing operation per step."""

    def __init__(
        self,
        dataset: Dataset,
        split: str,
        block_size: int,
        batch_size: int,
        device: torch.device,
        seed: int,
    ):
        self.data = dataset.splits[split]
        self.block_size = block_size
        self.batch_size = batch_size
        self.device = device
        self.generator = torch.Generator()
        self.generator.manual_seed(seed)
        self._window = np.arange(block_size + 1)

    def gather(self, offsets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, block_size) inputs and targets starting at `offsets`: one vectorised gather."""
        chunk = torch.from_numpy(self.data[offsets.numpy()[:, None] + self._window].astype(np.int64))
        x, y = chunk[:, :-1], chunk[:, 1:]
        if self.device.type == "cuda":
            return (
                x.pin_memory().to(self.device, non_blocking=True),
                y.pin_memory().to(self.device, non_blocking=True),
            )
        return x.contiguous().to(self.device), y.contiguous().to(self.device)

    def step(
        self, micro_batches: int, world_size: int = 1, rank: int = 0
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The micro-batches of one optimizer step for this process: all `micro_batches`
        (summed over processes) are drawn, rank r takes micro-batches r, r+W, r+2W, ..."""
        n = len(self.data) - self.block_size
        offsets = torch.randint(n, (micro_batches, self.batch_size), generator=self.generator)
        return [self.gather(offsets[i]) for i in range(rank, micro_batches, world_size)]

    def fixed(self, count: int, seed: int):
        """`count` batches from a fresh generator: the same every call (evaluation)."""
        g = torch.Generator()
        g.manual_seed(seed)
        n = len(self.data) - self.block_size
        offsets = torch.randint(n, (count, self.batch_size), generator=g)
        for i in range(count):
            yield self.gather(offsets[i])
