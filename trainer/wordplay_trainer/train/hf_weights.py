"""A pretrained model's weights in our GPT (model.py): a Llama, Qwen2 or Qwen3 Hugging Face folder
(or hub name) mapped here, GPT-2's through gpt2_weights.py; load_pretrained is the one entry for
every source train.init_from, `export --from` and LoRA's base name.

The weights are read from safetensors alone (model.safetensors, or the shards that
model.safetensors.index.json names), never from a pickle: a folder with only pytorch_model.bin is
refused. Every tensor is checked against the shape its config.json gives it, every one is used and
every weight of ours filled (the padding rows of the embedding and head zeroed), and the head is
tied, or not, as config.json says. Hugging Face's names map onto ours as
q_proj/k_proj/v_proj -> rows of attn.c_attn (query, key, value), o_proj -> attn.c_proj,
gate_proj/up_proj/down_proj -> mlp.c_gate/c_fc/c_proj, input/post_attention_layernorm -> ln_1/ln_2,
model.norm -> ln_f, embed_tokens -> wte."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from ..common.errors import TrainerError
from ..prepare.dataset import Dataset, tokenizer_json
from .gpt2_weights import from_pretrained, gpt2_model
from .hf_config import FAMILIES, FILES, Pretrained, read_pretrained
from .model import GPT, GPTConfig
from .run_config import ModelConfig

# the model group's keys a pretrained model sets in GPTConfig (block_size and dropout are the run's)
GPT_KEYS = (
    *("n_layer", "n_head", "n_kv_head", "n_embd", "head_dim", "mlp_hidden", "bias", "attn_bias"),
    *("position", "rope_base", "norm", "norm_eps", "qk_norm", "mlp", "tie_embeddings"),
)
DERIVED = ("rotary_emb.inv_freq",)  # buffers older checkpoints saved: recomputed, never read


def load_pretrained(
    source: str, dropout: float = 0.0, block_size: int | None = None, key: str = "train.init_from"
) -> GPT:
    """The weights `source` names in our GPT, at their full context or cropped to block_size."""
    p = read_pretrained(source, key)
    if p.family == "gpt2":
        return from_pretrained(str(p.folder or source), dropout, block_size, key)
    if block_size is not None and block_size > p.positions:
        raise TrainerError(
            f"model.block_size {block_size} exceeds the {p.positions} positions of {source} "
            f"({p.positions_why}); set model.block_size to at most {p.positions}",
            "model.block_size",
        )
    model = hf_model(p, dropout, key)
    if block_size is not None and block_size < p.positions:
        model.crop_block_size(block_size)
    return model


def pretrained_model(init: str, dataset: Dataset, m: ModelConfig) -> GPT:
    """What train.init_from (not scratch or resume) starts from: the weights with model.dropout,
    cropped to model.block_size, once the dataset is known to speak the model's tokenizer."""
    p = read_pretrained(init)
    if p.family == "gpt2":
        return gpt2_model(init, dataset, m)
    check_tokenizer(p, dataset)
    return load_pretrained(init, m.dropout, m.block_size)


def check_tokenizer(p: Pretrained, dataset: Dataset) -> None:
    """The dataset's tokenizer.json must be the model folder's (its model and added tokens):
    other ids would be other text to the model."""
    assert p.folder is not None
    theirs_file, ours_file = p.folder / FILES["tokenizer"], dataset.path / FILES["tokenizer"]
    fix = f"prepare the dataset with the model's tokenizer: `wordplay prepare --tokenizer {p.folder}`"
    if not theirs_file.is_file():
        raise TrainerError(
            f"{theirs_file} is missing: a dataset for {p.source} must be prepared with the model's own "
            "tokenizer, and its folder has none; download the model again, or name a folder with its "
            "tokenizer.json",
            str(theirs_file),
        )
    try:
        theirs = json.loads(theirs_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TrainerError(
            f"{theirs_file} is not valid JSON ({e}); download the model again", str(theirs_file)
        ) from None
    ours = tokenizer_json(dataset.tokenizer) or {}  # char and GPT-2 datasets have none
    if not isinstance(theirs, dict) or any(ours.get(k) != theirs.get(k) for k in ("model", "added_tokens")):
        raise TrainerError(
            f"the dataset's tokenizer {ours_file} is not the model's {theirs_file}: its token ids would "
            f"mean other text to the model; {fix}",
            "data.dataset",
        )
    if dataset.vocab_size > p.vocab_size:
        raise TrainerError(
            f"the dataset {dataset.path} has {dataset.vocab_size} tokens, more than the {p.vocab_size} "
            f"rows of {p.source}'s embedding; {fix}",
            "data.dataset",
        )


# ---- Llama, Qwen2, Qwen3 --------------------------------------------------------------------


def hf_model(p: Pretrained, dropout: float, key: str) -> GPT:
    """Our GPT of the folder's shape, every weight its safetensors'."""
    config = GPTConfig(
        vocab_size=p.vocab_size, block_size=p.positions, dropout=dropout, **{k: p.model[k] for k in GPT_KEYS}
    )
    model = GPT(config)
    names = weight_names(p.folder, key)
    table = weight_table(config, p.family)
    where = p.folder / (
        FILES["weights_index"] if (p.folder / FILES["weights_index"]).is_file() else FILES["weights"]
    )
    unexpected = [n for n in names if n not in table and not n.endswith(DERIVED)]
    tie = config.tie_embeddings
    if unexpected and not (tie and unexpected == ["lm_head.weight"]):
        name = next(n for n in unexpected if not (tie and n == "lm_head.weight"))
        raise TrainerError(
            f"{where}: {name} is not a weight of a {FAMILIES[p.family]['class']} as its config.json "
            "describes it; the weights do not match their config: download the model again",
            key,
        )
    missing = [n for n in table if n not in names]
    if missing:
        why = (
            "tie_word_embeddings is false in its config.json, yet " if missing[0] == "lm_head.weight" else ""
        )
        raise TrainerError(
            f"{where}: {why}the weights have no {missing[0]}, which a {FAMILIES[p.family]['class']} of its "
            "config.json needs; the weights do not match their config: download the model again",
            key,
        )
    params = dict(model.named_parameters())
    filled: set[str] = set()
    embedding = None
    with torch.no_grad():
        for name, tensor in read_tensors(names):
            if name.endswith(DERIVED):
                continue
            if name == "lm_head.weight" and tie:
                head = tensor  # a copy of the embedding some savers write: checked below
                continue
            ours, rows, dims = table[name]
            expected = tuple(_size(config, d) for d in dims)
            if tuple(tensor.shape) != expected:
                raise TrainerError(
                    f"{where}: {name} is {list(tensor.shape)}, but its config.json gives {list(expected)} "
                    f"({_describe(dims, config, p.family)}); the weights do not match their config: "
                    "download the model again",
                    key,
                )
            target = params[ours]
            if ours in ("transformer.wte.weight", "lm_head.weight"):
                target[: p.vocab_size].copy_(tensor)
                target[p.vocab_size :].zero_()  # the padding rows, never sampled
                if ours == "transformer.wte.weight":
                    embedding = tensor
            else:
                (target if rows is None else target[rows[0] : rows[1]]).copy_(tensor)
            filled.add(ours)
    if tie and "lm_head.weight" in names and not torch.equal(head, embedding):
        raise TrainerError(
            f"{where}: tie_word_embeddings is true in its config.json, yet the weights hold an "
            "lm_head.weight of their own that differs from model.embed_tokens.weight; the weights do "
            "not match their config: download the model again",
            key,
        )
    unfilled = [n for n in params if n not in filled]
    assert not unfilled, f"weights of ours left unfilled: {unfilled[:3]}"
    return model


def weight_names(folder: Path, key: str) -> dict[str, Path]:
    """Each tensor's name and the safetensors file that holds it."""
    from safetensors import safe_open

    index, single = folder / FILES["weights_index"], folder / FILES["weights"]
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as e:
            raise TrainerError(f"{index} is malformed ({e}); download the model again", key) from None
        for file in set(weight_map.values()):
            if not (folder / file).is_file():
                raise TrainerError(
                    f"{folder / file}, a shard {index} names, is missing; download the model again", key
                )
        return {name: folder / file for name, file in weight_map.items()}
    if single.is_file():
        with safe_open(str(single), framework="pt") as f:
            return {name: single for name in f.keys()}  # noqa: SIM118 - safe_open is no dict
    pickled = [folder / name for name in FILES["pickled"] if (folder / name).is_file()]
    if pickled:
        raise TrainerError(
            f"{pickled[0]} is a pickle, which wordplay never loads (loading one can run any code); "
            "convert the model to safetensors (transformers: save_pretrained(folder, "
            "safe_serialization=True)) or download its model.safetensors",
            key,
        )
    raise TrainerError(f"{single} is missing: {folder} holds no weights; download the model again", key)


def read_tensors(names: dict[str, Path]):
    """(name, float32 tensor), its file opened for that tensor alone: safetensors maps the file,
    and the pages read stay in the process's resident memory until it is closed, which with one
    open file per shard held a second copy of the weights at the end of loading (the peak memory
    of a LoRA run, whose training needs little more than the weights)."""
    from safetensors import safe_open

    for name, file in names.items():
        with safe_open(str(file), framework="pt") as f:
            tensor = f.get_tensor(name).float()
        yield name, tensor


# each dimension of a tensor: the product of these GPTConfig fields
VOCAB, D, Q, KV, HD, H = (
    ("vocab_size",),
    ("n_embd",),
    ("n_head", "head_dim"),
    ("n_kv_head", "head_dim"),
    ("head_dim",),
    ("mlp_hidden",),
)


def weight_table(c: GPTConfig, family: str) -> dict[str, tuple[str, tuple[int, int] | None, tuple]]:
    """Hugging Face's name -> (our parameter, its rows or None for all, the dimensions)."""
    q, kv = c.n_head * c.head_dim, c.n_kv_head * c.head_dim
    table = {"model.embed_tokens.weight": ("transformer.wte.weight", None, (VOCAB, D))}
    if not c.tie_embeddings:
        table["lm_head.weight"] = ("lm_head.weight", None, (VOCAB, D))
    table["model.norm.weight"] = ("transformer.ln_f.weight", None, (D,))
    for i in range(c.n_layer):
        hf, us = f"model.layers.{i}.", f"transformer.h.{i}."
        attn = {"q_proj": ((0, q), Q), "k_proj": ((q, q + kv), KV), "v_proj": ((q + kv, q + 2 * kv), KV)}
        for name, (rows, out) in attn.items():
            table[f"{hf}self_attn.{name}.weight"] = (f"{us}attn.c_attn.weight", rows, (out, D))
            if c.attn_bias:
                table[f"{hf}self_attn.{name}.bias"] = (f"{us}attn.c_attn.bias", rows, (out,))
        table[f"{hf}self_attn.o_proj.weight"] = (f"{us}attn.c_proj.weight", None, (D, Q))
        if c.qk_norm:
            table[f"{hf}self_attn.q_norm.weight"] = (f"{us}attn.q_norm.weight", None, (HD,))
            table[f"{hf}self_attn.k_norm.weight"] = (f"{us}attn.k_norm.weight", None, (HD,))
        table[f"{hf}mlp.gate_proj.weight"] = (f"{us}mlp.c_gate.weight", None, (H, D))
        table[f"{hf}mlp.up_proj.weight"] = (f"{us}mlp.c_fc.weight", None, (H, D))
        table[f"{hf}mlp.down_proj.weight"] = (f"{us}mlp.c_proj.weight", None, (D, H))
        table[f"{hf}input_layernorm.weight"] = (f"{us}ln_1.weight", None, (D,))
        table[f"{hf}post_attention_layernorm.weight"] = (f"{us}ln_2.weight", None, (D,))
    return table


def _size(c: GPTConfig, fields: tuple[str, ...]) -> int:
    return math.prod(getattr(c, f) for f in fields)


def _describe(dims: tuple, c: GPTConfig, family: str) -> str:
    """The config.json keys that give a shape: "num_key_value_heads 2 × head_dim 16 by hidden_size 64"."""
    theirs = {**FAMILIES[family]["keys"], "vocab_size": "vocab_size"}
    return " by ".join(" × ".join(f"{theirs[f]} {getattr(c, f)}" for f in fields) for fields in dims)
