"""The model's small parts that carry no weights of their own beyond a scale: LayerNorm without a
bias, RMSNorm, and rotary position embeddings (RoPE) as Hugging Face's Llama computes them."""

import torch
import torch.nn as nn
from torch.nn import functional as F


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (PyTorch's has no bias=False before 2.1)."""

    def __init__(self, ndim: int, bias: bool, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)


class RMSNorm(nn.Module):
    """x / sqrt(mean(x²) + eps) · weight (Llama's; no mean subtracted, no bias)."""

    def __init__(self, ndim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, self.weight.shape, self.weight, self.eps)


def make_norm(norm: str, ndim: int, bias: bool, eps: float) -> nn.Module:
    """model.norm's norm over the last ndim features."""
    if norm == "rmsnorm":
        return RMSNorm(ndim, eps)
    return LayerNorm(ndim, bias=bias, eps=eps)


def rope_angles(head_dim: int, positions: torch.Tensor, base: float) -> torch.Tensor:
    """The rotation angle of each position (..., head_dim / 2): position · base^(-2i/head_dim)."""
    inv_freq = 1.0 / base ** (
        torch.arange(0, head_dim, 2, dtype=torch.int64, device=positions.device).float() / head_dim
    )
    return positions.float()[..., None] * inv_freq


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotates each pair (x[i], x[i + head_dim/2]) of x (B, n_head, T, head_dim) by its angle;
    cos and sin are (B or 1, 1, T, head_dim / 2)."""
    x1, x2 = x.float().chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1).type_as(x)
