"""Model FLOPs utilisation against the peak of the device actually present.

FLOPs are counted by the PaLM formula (src/core/train/estimate.ts's estimates use the same, the
case table test/cases/mfu.json holds both to it) against a GPU's peak in schemas/gpu-peaks.json,
or a CPU's measured one (cpu_peak.py). nanoGPT divides by an A100's 312 TFLOPS whatever the
device; here an unknown GPU (or MPS) gives None, never a figure against the wrong peak."""

from __future__ import annotations

import re

import torch

from .cpu_peak import cpu_peak
from .schemas import read_json

PEAKS = [(re.compile(p["pattern"], re.IGNORECASE), p["flops"]) for p in read_json("gpu-peaks.json")["peaks"]]


def peak_flops(device_name: str | None) -> float | None:
    """The bf16 dense peak of a CUDA device by its name; None when unknown."""
    if not device_name:
        return None
    return next((peak for pattern, peak in PEAKS if pattern.search(device_name)), None)


def device_peak(device: torch.device, dtype: str = "float32") -> tuple[float | None, str]:
    """(peak FLOP/s, how it was found) of a torch.device for matmuls in `dtype`: a CUDA GPU's
    from the table by its name, the CPU's measured (kept per machine); None where unknown."""
    if device.type == "cpu":
        return cpu_peak(dtype)
    if device.type != "cuda" or not torch.cuda.is_available():
        return None, f"no peak known for {device.type}"
    name = torch.cuda.get_device_name(device)
    peak = peak_flops(name)
    return peak, f"table: {name}" if peak else f"{name} is not in schemas/gpu-peaks.json"


def flops_per_token(n_params: int, n_layer: int, n_head: int, head_dim: int, seq_len: int) -> float:
    """PaLM appendix B: 6N + 12·L·H·Q·T FLOPs per token for forward and backward."""
    return 6 * n_params + 12 * n_layer * n_head * head_dim * seq_len


def model_flops_per_token(model: torch.nn.Module, n_params: int, seq_len: int) -> float:
    """flops_per_token of our GPT (n_params counted as GPT.num_params counts them); a frozen weight
    (LoRA's base) costs 4 FLOPs a token, not 6: its input's gradient, but no weight gradient."""
    c = model.config
    frozen = sum(p.numel() for n, p in model.named_parameters() if not p.requires_grad and "wpe" not in n)
    return flops_per_token(n_params, c.n_layer, c.n_head, c.head_dim, seq_len) - 2 * frozen


def mfu(flops_token: float, tokens_per_s_per_device: float, peak: float | None) -> float | None:
    if peak is None or tokens_per_s_per_device <= 0:
        return None
    return flops_token * tokens_per_s_per_device / peak
