"""What an evaluation measures besides checkpointing: the mean loss on train and on val over
train.eval_iters batches, the same batches at every evaluation (a generator seeded afresh), and
a sample of train.sample_tokens tokens the model writes."""

from __future__ import annotations

import contextlib

import torch

from ..prepare.dataset import Batches, Dataset, end_of_text, hf_tokenizer, tokenizer_kind
from .model import GPT
from .run_config import TrainConfig

EVAL_SEED_OFFSET = 1_000_003


@torch.no_grad()
def mean_losses(
    model: GPT,
    forward: torch.nn.Module,
    dataset: Dataset,
    t: TrainConfig,
    device: torch.device,
    autocast: contextlib.AbstractContextManager,
) -> dict[str, float]:
    """Mean loss on train and val over eval_iters batches through `forward` (the model, or its
    compiled form), in eval mode."""
    model.eval()
    out = {}
    for split in ("train", "val"):
        batches = Batches(dataset, split, model.config.block_size, t.batch_size, device, t.seed)
        losses = []
        for x, y in batches.fixed(t.eval_iters, t.seed + EVAL_SEED_OFFSET):
            with autocast:
                _, loss = forward(x, y)
            losses.append(loss.float())
        out[split] = torch.stack(losses).mean().item()
    model.train()
    return out


def sample(
    model: GPT,
    tokenizer: dict,
    n: int,
    seed: int,
    device: torch.device,
    autocast: contextlib.AbstractContextManager,
) -> list[int]:
    """n tokens the model writes from sample_start (temperature 0.8, top 200), seeded."""
    g = torch.Generator(device=device)
    g.manual_seed(seed)
    start = torch.tensor([[sample_start(tokenizer)]], device=device)
    model.eval()
    with torch.no_grad(), autocast:
        out = model.generate(start, n, temperature=0.8, top_k=200, generator=g)
    model.train()
    return out[0, 1:].tolist()


def sample_start(tokenizer: dict) -> int:
    """The token a sample starts from: a newline for characters, the end of text for GPT-2, BPE
    and a model folder's tokenizer (a newline's first token where that names none)."""
    eot = end_of_text(tokenizer)
    if eot is not None:
        return eot
    if tokenizer_kind(tokenizer) == "hf":
        return hf_tokenizer(tokenizer).encode("\n", add_special_tokens=False).ids[0]
    vocab = tokenizer["vocab"]
    return vocab.index("\n") if "\n" in vocab else 0
