"""OpenAI's GPT-2 weights (through transformers) in our GPT: `gpt2`, `gpt2-medium`,
`gpt2-large`, `gpt2-xl` from the Hugging Face hub, or a local Hugging Face GPT-2 folder."""

from __future__ import annotations

import torch

from .errors import TrainerError
from .model import GPT, GPTConfig

HUB_NAMES = ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")
# Hugging Face's GPT-2 uses Conv1D layers, whose weights are the transpose of nn.Linear's
TRANSPOSED = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def from_pretrained(name_or_path: str, dropout: float = 0.0, block_size: int | None = None) -> GPT:
    try:
        from transformers import GPT2LMHeadModel
    except ImportError:
        raise TrainerError(
            "train.init_from needs the transformers package: install it with "
            "`python -m pip install transformers`, or run `wordplay setup`",
            "train.init_from",
        ) from None
    try:
        hf = GPT2LMHeadModel.from_pretrained(name_or_path)
    except (OSError, ValueError) as e:
        where = (
            "the Hugging Face hub (is the network reachable?)" if name_or_path in HUB_NAMES else "that folder"
        )
        raise TrainerError(
            f"could not load GPT-2 weights {name_or_path!r} from {where}: {str(e).splitlines()[0]}; "
            "set train.init_from to gpt2, gpt2-medium, gpt2-large, gpt2-xl or a Hugging Face GPT-2 folder",
            "train.init_from",
        ) from None
    hc = hf.config
    if getattr(hc, "activation_function", "gelu_new") not in ("gelu_new", "gelu_pytorch_tanh"):
        raise TrainerError(
            f"{name_or_path} uses activation {hc.activation_function}; only GPT-2's tanh GELU is supported",
            "train.init_from",
        )
    config = GPTConfig(
        vocab_size=hc.vocab_size,
        block_size=hc.n_positions,
        n_layer=hc.n_layer,
        n_head=hc.n_head,
        n_embd=hc.n_embd,
        dropout=dropout,
        bias=True,
    )
    model = GPT(config)
    sd = model.state_dict()
    hf_sd = hf.state_dict()
    with torch.no_grad():
        for key, value in hf_sd.items():
            if key.endswith((".attn.bias", ".attn.masked_bias")) or key == "lm_head.weight":
                continue  # causal-mask buffers, and the head (tied to wte)
            if key not in sd:
                raise TrainerError(f"{name_or_path}: unexpected weight {key}", "train.init_from")
            if key.endswith(TRANSPOSED):
                value = value.t()
            if key == "transformer.wte.weight":
                sd[key][: value.size(0)].copy_(value)
                sd[key][value.size(0) :].zero_()  # the padding rows, never sampled
            else:
                sd[key].copy_(value)
    if block_size is not None and block_size < config.block_size:
        model.crop_block_size(block_size)
    return model
