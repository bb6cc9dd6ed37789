"""Muon for the hidden matrices, AdamW for everything else, as one torch optimizer.

Muon (Keller Jordan, 2024; https://kellerjordan.github.io/posts/muon/) replaces each 2-D weight
matrix's update by its momentum made orthogonal: a quintic Newton-Schulz iteration pushes every
singular value of the (Nesterov) momentum towards 1, so every direction of the matrix learns at
the same rate. It is meant for the blocks' hidden matrices only: the embeddings, the head, the
norms and the biases keep AdamW, each kind in its own parameter group with its own learning rate.

Why not torch.optim.Muon: it always runs Newton-Schulz in bfloat16, which CPUs without native
bf16 matrix units (AVX2 only) emulate: on the development VM one step over the CPU preset's 20
block matrices took 940 ms against 102 ms in float32 here (BENCHMARKS.md), where a whole
one-thread training step of that preset takes 382 ms. This one iterates in bfloat16 on
GPUs and in float32 elsewhere, and keeps AdamW in the same optimizer, so one state_dict holds
both halves (checkpoints and bit-exact resume as for AdamW) and DDP, GradScaler and the
learning-rate schedule see one optimizer. Limits: no ZeRO sharding (DeepSpeed flattens the
matrices Muon needs whole; the config refuses muon with distributed.backend deepspeed); every
process orthogonalises every matrix (fine at our sizes; modded-nanogpt shares that work out).
"""

from __future__ import annotations

import math

import torch

# Coefficients of the quintic iteration, tuned to raise small singular values fast (Keller
# Jordan's); five steps leave them within about [0.7, 1.2], which trains as well as exactly 1.
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
NS_STEPS = 5


def orthogonalize(g: torch.Tensor, steps: int = NS_STEPS) -> torch.Tensor:
    """An approximately orthogonal matrix with g's singular vectors (U V^T of g = U S V^T)."""
    a, b, c = NS_COEFFICIENTS
    x = g.to(torch.bfloat16 if g.is_cuda else torch.float32)
    wide = x.size(0) <= x.size(1)
    if not wide:
        x = x.T  # iterate on the smaller Gram matrix
    x = x / (x.norm() + 1e-7)  # spectral norm <= Frobenius norm <= 1
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return (x if wide else x.T).to(g.dtype)


class MuonAdamW(torch.optim.Optimizer):
    """Groups marked `muon: True` take Muon steps, the others AdamW steps. Each group carries
    `peak_lr`, its learning rate at the schedule's peak; the trainer sets `lr` every step."""

    def __init__(
        self,
        muon_params: list[torch.Tensor],
        adamw_groups: list[dict],
        muon_lr: float,
        momentum: float,
        adamw_lr: float,
        betas: tuple[float, float],
        eps: float = 1e-8,
    ):
        groups = [
            {"params": muon_params, "muon": True, "lr": muon_lr, "peak_lr": muon_lr, "momentum": momentum},
            *(
                {**g, "muon": False, "lr": adamw_lr, "peak_lr": adamw_lr, "betas": betas, "eps": eps}
                for g in adamw_groups
            ),
        ]
        super().__init__(groups, {})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if group["muon"]:
                    self._muon_step(p, group)
                else:
                    self._adamw_step(p, group)

    def _muon_step(self, p: torch.Tensor, group: dict) -> None:
        state = self.state[p]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = torch.zeros_like(p)
        buf, beta = state["momentum_buffer"], group["momentum"]
        buf.lerp_(p.grad, 1 - beta)
        update = orthogonalize(p.grad.lerp(buf, beta))  # Nesterov: the gradient, then momentum
        # a tall matrix's orthogonal update has a smaller RMS per entry: scale it back up
        scale = math.sqrt(max(1.0, p.size(0) / p.size(1)))
        p.add_(update, alpha=-group["lr"] * scale)

    def _adamw_step(self, p: torch.Tensor, group: dict) -> None:
        state = self.state[p]
        if "exp_avg" not in state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
        state["step"] += 1
        beta1, beta2 = group["betas"]
        m, v, g = state["exp_avg"], state["exp_avg_sq"], p.grad
        m.lerp_(g, 1 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        p.mul_(1 - group["lr"] * group["weight_decay"])  # decoupled weight decay
        denom = (v.sqrt() / math.sqrt(1 - beta2 ** state["step"])).add_(group["eps"])
        p.addcdiv_(m, denom, value=-group["lr"] / (1 - beta1 ** state["step"]))
