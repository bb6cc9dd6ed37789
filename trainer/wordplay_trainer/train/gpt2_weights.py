"""OpenAI's GPT-2 weights (through transformers) in our GPT: `gpt2`, `gpt2-medium`,
`gpt2-large`, `gpt2-xl` from the Hugging Face hub, or a local Hugging Face GPT-2 folder. They
start a fine-tuning run (train.init_from: gpt2_model), or, through `export --from`, become a run
of their own that completes text as they are (export/pretrained_run.py).

Limits: a folder must hold a GPT2LMHeadModel with GPT-2's tanh GELU. Hub names need the
network."""

from __future__ import annotations

from pathlib import Path

import torch

from ..common.errors import TrainerError
from ..common.schemas import read_json
from ..prepare.dataset import Dataset
from .model import GPT, GPTConfig
from .run_config import ModelConfig

GPT2 = read_json("gpt2.json")
HUB_NAMES = tuple(GPT2["models"])
# Hugging Face's GPT-2 uses Conv1D layers, whose weights are the transpose of nn.Linear's
TRANSPOSED = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def from_pretrained(
    name_or_path: str, dropout: float = 0.0, block_size: int | None = None, key: str = "train.init_from"
) -> GPT:
    """The weights in our GPT at their full context, or cropped to block_size; `key` is the
    setting that named them (train.init_from, or export's --from), which errors name."""
    try:
        from transformers import GPT2LMHeadModel
    except ImportError:
        raise TrainerError(
            f"{key} needs the transformers package: install it with "
            "`python -m pip install transformers`, or run `wordplay setup`",
            key,
        ) from None
    try:
        hf = GPT2LMHeadModel.from_pretrained(name_or_path)
    except (OSError, ValueError) as e:
        where = (
            "the Hugging Face hub (is the network reachable?)" if name_or_path in HUB_NAMES else "that folder"
        )
        raise TrainerError(
            f"could not load GPT-2 weights {name_or_path!r} from {where}: {str(e).splitlines()[0]}; "
            f"set {key} to gpt2, gpt2-medium, gpt2-large, gpt2-xl or a Hugging Face GPT-2 folder",
            key,
        ) from None
    hc = hf.config
    if getattr(hc, "activation_function", "gelu_new") not in ("gelu_new", "gelu_pytorch_tanh"):
        raise TrainerError(
            f"{name_or_path} uses activation {hc.activation_function}; only GPT-2's tanh GELU is supported",
            key,
        )
    config = GPTConfig(
        vocab_size=hc.vocab_size,
        block_size=hc.n_positions,
        n_layer=hc.n_layer,
        n_head=hc.n_head,
        n_embd=hc.n_embd,
        dropout=dropout,
        bias=True,
        mlp_hidden=hc.n_inner,  # None: 4·n_embd
        norm_eps=hc.layer_norm_epsilon,
    )
    model = GPT(config)
    sd = model.state_dict()
    hf_sd = hf.state_dict()
    with torch.no_grad():
        for name, value in hf_sd.items():
            if name.endswith((".attn.bias", ".attn.masked_bias")) or name == "lm_head.weight":
                continue  # causal-mask buffers, and the head (tied to wte)
            if name not in sd:
                raise TrainerError(f"{name_or_path}: unexpected weight {name}", key)
            if name.endswith(TRANSPOSED):
                value = value.t()
            if name == "transformer.wte.weight":
                sd[name][: value.size(0)].copy_(value)
                sd[name][value.size(0) :].zero_()  # the padding rows, never sampled
            else:
                sd[name].copy_(value)
    if block_size is not None and block_size < config.block_size:
        model.crop_block_size(block_size)
    return model


def gpt2_model(init: str, dataset: Dataset, m: ModelConfig) -> GPT:
    """What train.init_from gpt2* or a folder starts from: GPT-2's weights with model.dropout,
    cropped to model.block_size, once the dataset is known to be GPT-2 BPE."""
    if dataset.tokenizer.get("type") != "gpt2":
        raise TrainerError(
            f"train.init_from {init!r} needs a GPT-2 BPE dataset, but {dataset.path} is "
            f"{dataset.tokenizer.get('type')}-level; prepare one with `wordplay prepare --tokenizer gpt2`",
            "data.dataset",
        )
    if init not in HUB_NAMES and not Path(init).is_dir():
        raise TrainerError(
            f"train.init_from {init!r} is neither scratch, resume, gpt2* nor a folder; fix the path",
            "train.init_from",
        )
    model = from_pretrained(init, dropout=m.dropout)
    if m.block_size > model.config.block_size:
        raise TrainerError(
            f"model.block_size {m.block_size} exceeds the {model.config.block_size} positions of "
            f"{init}; set model.block_size to at most {model.config.block_size}",
            "model.block_size",
        )
    if m.block_size < model.config.block_size:
        model.crop_block_size(m.block_size)
    return model
