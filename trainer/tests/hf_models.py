"""Tiny random Hugging Face model folders for the tests, written offline as a download would be:
config.json + model.safetensors by transformers' own classes (`save_pretrained`, safetensors),
and a small byte-level BPE tokenizer.json trained here with the `tokenizers` library.

One per family the trainer reads (train/hf_weights.py), each with what sets it apart:
- llama: grouped-query attention (4 query heads, 2 key/value heads), rope_theta 500000, a tied head
  (SmolLM2's shape);
- qwen2: biases on q/k/v, rope_theta 1000000, an untied head;
- qwen3: qk-norm, a head size (24) that is not hidden_size / heads (16), GQA, a tied head.
Every weight is jittered (fresh norms are all 1 and biases all 0, which a loader that dropped them
would reproduce anyway). Other test files (exports, completion, LoRA) import these."""

from __future__ import annotations

from pathlib import Path

import torch

END_OF_TEXT = "<|endoftext|>"
SPECIAL_TOKENS = [END_OF_TEXT, "<|im_start|>", "<|im_end|>"]

TEXT = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
    "First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\nResolved. resolved.\n\n"
    "def add(a, b):\n    return a + b  # naïve café 😀\n\n"
) * 20

# the shapes every family shares; the vocabulary is the tokenizer's, rounded up as Qwen's is
SHAPE = dict(
    hidden_size=64,
    intermediate_size=96,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
)
FAMILIES = {
    "llama": dict(rope_theta=500000.0, tie_word_embeddings=True, rms_norm_eps=1e-5),
    "qwen2": dict(rope_theta=1000000.0, tie_word_embeddings=False, rms_norm_eps=1e-6),
    "qwen3": dict(rope_theta=1000000.0, tie_word_embeddings=True, rms_norm_eps=1e-6, head_dim=24),
}


def train_tokenizer(vocab_size: int = 300, text: str = TEXT):
    """A byte-level BPE (the kind Llama 3, Qwen and SmolLM2 ship) trained on `text`, with
    <|endoftext|> and two chat tokens added."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator([text], trainer)
    return tokenizer


def write_tokenizer(folder: Path, vocab_size: int = 300, text: str = TEXT) -> Path:
    """tokenizer.json (+ tokenizer_config.json, special_tokens_map.json) into `folder`, as
    transformers saves a fast tokenizer. Returns tokenizer.json."""
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(tokenizer_object=train_tokenizer(vocab_size, text), eos_token=END_OF_TEXT)
    fast.save_pretrained(folder)
    return Path(folder) / "tokenizer.json"


def tokenizer_size(folder: Path) -> int:
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(Path(folder) / "tokenizer.json")).get_vocab_size(with_added_tokens=True)


def hf_config(family: str, vocab_size: int, **overrides):
    """transformers' config of a tiny `family` model."""
    import transformers

    cls = {"llama": "LlamaConfig", "qwen2": "Qwen2Config", "qwen3": "Qwen3Config"}[family]
    settings = {**SHAPE, **FAMILIES[family], "vocab_size": vocab_size, **overrides}
    return getattr(transformers, cls)(**settings)


def write_model(
    family: str, folder: Path, seed: int = 0, tokenizer: bool = True, pad_vocab: bool = True, **overrides
):
    """A tiny random `family` model (llama, qwen2, qwen3) saved into `folder` with its tokenizer;
    its embedding has rows past the tokenizer's 300 (304, as Qwen's 151,936 past 151,669) unless
    pad_vocab is false; `overrides` change its config. Returns (folder, the transformers model in
    eval mode)."""
    from transformers import AutoModelForCausalLM

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = 320
    if tokenizer:
        write_tokenizer(folder)
        vocab = -(-tokenizer_size(folder) // 16) * 16 if pad_vocab else tokenizer_size(folder)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(
        hf_config(family, vocab, **overrides), attn_implementation="eager"
    )
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.eval()
    model.save_pretrained(folder, safe_serialization=True)
    return folder, model


def write_dataset(model_folder: Path, out: Path, text: str = TEXT) -> Path:
    """A dataset folder `out` encoded with the model folder's tokenizer.json, laid out as
    schemas/dataset.json says (the first 90% of the text for train.bin, uint16 ids, the tokenizer
    file copied as it is): what `wordplay prepare --tokenizer <folder>` writes."""
    import json
    import shutil

    import numpy as np
    from tokenizers import Tokenizer

    out = Path(out)
    out.mkdir(parents=True)
    tokenizer = Tokenizer.from_file(str(Path(model_folder) / "tokenizer.json"))
    cut = int(len(text) * 0.9)
    ids = {
        split: tokenizer.encode(part, add_special_tokens=False).ids
        for split, part in (("train", text[:cut]), ("val", text[cut:]))
    }
    for split, part in ids.items():
        np.array(part, dtype="<u2").tofile(out / f"{split}.bin")
    shutil.copyfile(Path(model_folder) / "tokenizer.json", out / "tokenizer.json")
    meta = {
        "source": ["test"],
        "sha256": "0" * 64,
        "tokenizer": "hf",
        "tokenizer_source": str(model_folder),
        "end_of_text": tokenizer.token_to_id(END_OF_TEXT),
        "vocab_size": tokenizer.get_vocab_size(with_added_tokens=True),
        "dtype": "uint16",
        "documents": 1,
        "characters": len(text),
        "train_characters": cut,
        "train_tokens": len(ids["train"]),
        "val_tokens": len(ids["val"]),
        "created": "2026-01-01T00:00:00Z",
    }
    (out / "meta.json").write_text(json.dumps(meta))
    return out
