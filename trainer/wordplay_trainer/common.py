"""The machine a run trains on, after nanochat's common.py: the device, dtype and compile
setting a config resolves to here, this process's place in a torchrun group, and model FLOPs
utilisation against the peak of the GPU actually present.

MFU counts FLOPs by the PaLM formula (src/core/train/estimate.ts's estimates use the same, the case
table test/cases/mfu.json holds both to it) against the peaks in schemas/gpu-peaks.json.
nanoGPT divides by an A100's 312 TFLOPS whatever the device; here an unknown device (or the CPU)
gives None, never a figure against the wrong peak."""

from __future__ import annotations

import contextlib
import os
import random
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.distributed as dist

from .errors import TrainerError
from .schemas import read_json

if TYPE_CHECKING:
    from .config import DistributedConfig, TrainConfig


def log(message: str) -> None:
    """A line for people (stderr); machines read events.jsonl."""
    print(message, file=sys.stderr, flush=True)


# ---- device, dtype, compile ------------------------------------------------------------------


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank)
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise TrainerError(
                f"train.device is {name!r} but PyTorch sees no CUDA GPU here (torch {torch.__version__}, "
                f"CUDA build {torch.version.cuda}); set train.device to auto or cpu",
                "train.device",
            )
        index = int(name.split(":")[1]) if ":" in name else local_rank
        if index >= torch.cuda.device_count():
            raise TrainerError(
                f"train.device is {name!r} but only {torch.cuda.device_count()} CUDA device(s) exist; "
                "set train.device to cuda or auto",
                "train.device",
            )
        return torch.device("cuda", index)
    if name == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise TrainerError(
                "train.device is 'mps' but MPS is not available; set train.device to auto", "train.device"
            )
        return torch.device("mps")
    return torch.device("cpu")


def resolve_dtype(name: str, device: torch.device) -> str:
    if name == "auto":
        if device.type == "cuda":
            return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        return "float32"
    if name == "float16" and device.type != "cuda":
        raise TrainerError(
            f"train.dtype float16 needs a CUDA GPU (device is {device.type}); use auto, bfloat16 or float32",
            "train.dtype",
        )
    if name == "bfloat16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise TrainerError("this GPU has no bfloat16; set train.dtype to auto or float16", "train.dtype")
    return name


def resolve_compile(name: str, device: torch.device) -> bool:
    return device.type == "cuda" if name == "auto" else name == "true"


# ---- this process in the run -----------------------------------------------------------------


@dataclass(frozen=True)
class Compute:
    """Where this process trains: its rank among `world` processes, its device, the resolved
    dtype, and the autocast context for it (none for float32)."""

    rank: int
    world: int
    device: torch.device
    dtype: str
    autocast: contextlib.AbstractContextManager

    @property
    def master(self) -> bool:
        """Rank 0: the one process that writes events, checkpoints and logs."""
        return self.rank == 0

    @property
    def ddp(self) -> bool:
        return self.world > 1


def compute_init(train: TrainConfig, distributed: DistributedConfig) -> Compute:
    """The device and dtype for this process, the process group when torchrun started several
    (its RANK, LOCAL_RANK and WORLD_SIZE) or a sharded backend runs alone, TF32 matmuls on,
    every RNG seeded with train.seed."""
    rank = int(os.environ.get("RANK", 0))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    world = int(os.environ.get("WORLD_SIZE", 1))
    expected = distributed.nproc_per_node * distributed.nnodes
    if world != expected and world > 1:
        log(f"wordplay: warning: {world} processes, the config asks for {expected}")
    if train.gradient_accumulation_steps % world:
        raise TrainerError(
            f"train.gradient_accumulation_steps {train.gradient_accumulation_steps} must be a multiple "
            f"of the {world} processes",
            "train.gradient_accumulation_steps",
        )
    device = resolve_device(train.device, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if world > 1:
        dist.init_process_group(backend=backend)
    elif distributed.backend != "ddp":
        # FSDP and DeepSpeed need a process group even alone; a one-process one needs no launcher
        dist.init_process_group(backend=backend, store=dist.HashStore(), rank=0, world_size=1)
    dtype = resolve_dtype(train.dtype, device)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    random.seed(train.seed)
    np.random.seed(train.seed)
    torch.manual_seed(train.seed)
    if dtype == "float32":
        autocast: contextlib.AbstractContextManager = contextlib.nullcontext()
    else:
        autocast = torch.autocast(device.type, dtype=getattr(torch, dtype))
    return Compute(rank, world, device, dtype, autocast)


def in_process_group() -> bool:
    return dist.is_available() and dist.is_initialized()


def compute_cleanup() -> None:
    """Leaves the process group, if this process joined one."""
    if in_process_group():
        dist.destroy_process_group()


# ---- model FLOPs utilisation -----------------------------------------------------------------

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
