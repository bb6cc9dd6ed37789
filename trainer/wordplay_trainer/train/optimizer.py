"""The optimizer a config names and its learning-rate schedule, as nanoGPT's: AdamW with weight
decay on matrices and embeddings only (fused on CUDA and the CPU), or with optimizer.name muon,
Muon for the blocks' matrices and that AdamW for the rest (muon.py); linear warmup, then cosine decay to
min_lr by iteration, or with train.time_budget_s warmup, constant, then a linear cool-down to
min_lr by the budget's clock (budget.py)."""

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
    # fused: one pass over each tensor instead of foreach's several, on CUDA and on the CPU too
    # (several times faster there: a 135M-parameter step 0.1 s against 0.5 s on one core)
    extra = {"fused": True} if device.type in ("cuda", "cpu") else {}
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


def budget_learning_rate(step: int, progress: float, opt: OptimizerConfig) -> float:
    """The schedule of a time budget, warmup-stable-decay (modded-nanogpt's and nanochat's
    trapezoid): linear warmup over the first warmup_iters steps of this run (a resumed run warms up
    again), constant at learning_rate, then linear down to min_lr over the last cooldown_fraction
    of its training time. progress is the share of that time spent, 0..1 (budget.py), so the run
    can end whenever it is told and still end cooled down. The lower of the warmup's ramp and the
    cool-down's line: a budget too short for its warmup still ends at min_lr."""
    if not opt.decay_lr:
        return opt.learning_rate
    warm = opt.learning_rate * min(1.0, (step + 1) / (opt.warmup_iters + 1))
    left = 1.0 - min(max(progress, 0.0), 1.0)
    if left >= opt.cooldown_fraction:
        return warm
    return min(warm, opt.min_lr + (opt.learning_rate - opt.min_lr) * left / opt.cooldown_fraction)
