"""Model FLOPs utilisation by the PaLM formula, against the peak of the GPU actually present.

nanoGPT divides by an A100's 312 TFLOPS whatever the device; here an unknown device (or the
CPU) gives None, never a figure against the wrong peak."""

from __future__ import annotations

import re

# bf16 dense tensor-core peaks (FLOP/s) from NVIDIA's data sheets, most specific names first.
# GeForce cards: the rate with FP32 accumulation, which is what PyTorch's bf16 matmuls use.
PEAK_BF16_FLOPS: list[tuple[str, float]] = [
    (r"GB200", 2.5e15),
    (r"B200", 2.25e15),
    (r"GH200", 989e12),
    (r"H200", 989e12),
    (r"H100.*NVL", 835e12),
    (r"H100.*PCIe", 756e12),
    (r"H100", 989e12),  # SXM (e.g. "NVIDIA H100 80GB HBM3")
    (r"H800.*PCIe", 756e12),
    (r"H800", 989e12),
    (r"A100", 312e12),
    (r"A800", 312e12),
    (r"L40S", 362e12),
    (r"\bL40\b", 181e12),
    (r"\bL4\b", 121e12),
    (r"\bA10\b", 125e12),
    (r"\bA30\b", 165e12),
    (r"\bA40\b", 149.7e12),
    (r"RTX 6000 Ada", 364e12),
    (r"RTX A6000", 154.8e12),
    (r"RTX 5090", 209.5e12),
    (r"RTX 4090", 165.2e12),
    (r"RTX 4080", 97.5e12),
    (r"RTX 3090", 71e12),
    (r"RTX 3080", 59.5e12),
]


def peak_flops(device_name: str | None) -> float | None:
    """The bf16 dense peak of a CUDA device by its name; None when unknown."""
    if not device_name:
        return None
    for pattern, peak in PEAK_BF16_FLOPS:
        if re.search(pattern, device_name, flags=re.IGNORECASE):
            return peak
    return None


def flops_per_token(n_params: int, n_layer: int, n_head: int, head_dim: int, seq_len: int) -> float:
    """PaLM appendix B: 6N + 12·L·H·Q·T FLOPs per token for forward and backward."""
    return 6 * n_params + 12 * n_layer * n_head * head_dim * seq_len


def mfu(flops_token: float, tokens_per_s_per_device: float, peak: float | None) -> float | None:
    if peak is None or tokens_per_s_per_device <= 0:
        return None
    return flops_token * tokens_per_s_per_device / peak


def device_peak(device) -> float | None:
    """Peak of a torch.device: CUDA devices by name, everything else None."""
    import torch

    if device.type != "cuda" or not torch.cuda.is_available():
        return None
    return peak_flops(torch.cuda.get_device_name(device))
