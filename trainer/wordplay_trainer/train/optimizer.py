"""The optimizer a config names and its learning-rate schedule, as nanoGPT's: AdamW with weight
decay on matrices and embeddings only (fused on CUDA), or with optimizer.name muon, Muon for the
blocks' matrices and that AdamW for the rest (muon.py); linear warmup, then cosine decay to
min_lr."""

from __future__ import annotations

import math

import torch

from .muon import MuonAdamW
from .run_config import OptimizerConfig


def make_optimizer(
    model: torch.nn.Module, opt: OptimizerConfig, device: torch.device
) -> torch.optim.Optimizer:
    """AdamW with weight decay on tensors of rank >= 2 only (matrices, embeddings); or, with
    optimizer.name muon, Muon for the blocks' matrices and that AdamW for the rest. Every group
    carries `peak_lr`, its learning rate at the schedule's peak."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    is_hidden = [opt.name == "muon" and p.dim() == 2 and n.startswith("transformer.h.") for n, p in named]
    hidden = [p for (_, p), h in zip(named, is_hidden, strict=True) if h]
    rest = [p for (_, p), h in zip(named, is_hidden, strict=True) if not h]
    groups = [
        {"params": [p for p in rest if p.dim() >= 2], "weight_decay": opt.weight_decay},
        {"params": [p for p in rest if p.dim() < 2], "weight_decay": 0.0},
    ]
    betas = (opt.beta1, opt.beta2)
    if opt.name == "muon":
        return MuonAdamW(hidden, groups, opt.muon_learning_rate, opt.muon_momentum, opt.learning_rate, betas)
    for g in groups:
        g["peak_lr"] = opt.learning_rate
    extra = {"fused": True} if device.type == "cuda" else {}
    return torch.optim.AdamW(groups, lr=opt.learning_rate, betas=betas, **extra)


def learning_rate(it: int, opt: OptimizerConfig, max_iters: int) -> float:
    """Linear warmup, then cosine decay to min_lr at lr_decay_iters (default max_iters)."""
    if not opt.decay_lr:
        return opt.learning_rate
    decay = opt.lr_decay_iters or max_iters
    if it < opt.warmup_iters:
        return opt.learning_rate * (it + 1) / (opt.warmup_iters + 1)
    if it >= decay:
        return opt.min_lr
    ratio = (it - opt.warmup_iters) / max(1, decay - opt.warmup_iters)
    return opt.min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (opt.learning_rate - opt.min_lr)
