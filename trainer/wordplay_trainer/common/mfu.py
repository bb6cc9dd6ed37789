"""Model FLOPs utilisation against the peak of the GPU actually present.

FLOPs are counted by the PaLM formula (src/core/train/estimate.ts's estimates use the same, the
case table test/cases/mfu.json holds both to it) against the peaks in schemas/gpu-peaks.json.
nanoGPT divides by an A100's 312 TFLOPS whatever the device; here an unknown device (or the CPU)
gives None, never a figure against the wrong peak."""

from __future__ import annotations

import re

import torch

from .schemas import read_json

PEAKS = [(re.compile(p["pattern"], re.IGNORECASE), p["flops"]) for p in read_json("gpu-peaks.json")["peaks"]]


def peak_flops(device_name: str | None) -> float | None:
    """The bf16 dense peak of a CUDA device by its name; None when unknown."""
    if not device_name:
        return None
    return next((peak for pattern, peak in PEAKS if pattern.search(device_name)), None)


def device_peak(device: torch.device) -> float | None:
    """Peak of a torch.device: CUDA devices by name, everything else None."""
    if device.type != "cuda" or not torch.cuda.is_available():
        return None
    return peak_flops(torch.cuda.get_device_name(device))


def flops_per_token(n_params: int, n_layer: int, n_head: int, head_dim: int, seq_len: int) -> float:
    """PaLM appendix B: 6N + 12·L·H·Q·T FLOPs per token for forward and backward."""
    return 6 * n_params + 12 * n_layer * n_head * head_dim * seq_len


def mfu(flops_token: float, tokens_per_s_per_device: float, peak: float | None) -> float | None:
    if peak is None or tokens_per_s_per_device <= 0:
        return None
    return flops_token * tokens_per_s_per_device / peak
