"""The machine a run trains on, after nanochat's common.py: the device, dtype and compile
setting a config resolves to here, and this process's place in a torchrun group.

What train.device, train.dtype and train.compile resolve to is a rule of a few facts (a CUDA
GPU is present, Apple's MPS is, the GPU has bfloat16): `device_rule`, `dtype_rule` and
`compile_rule` are pure functions of them, held to test/cases/auto-rules.json, the table the
config editor's estimate (src/core/train/estimate.ts) is held to as well; `resolve_device` and
`resolve_dtype` ask PyTorch for the facts."""

from __future__ import annotations

import contextlib
import os
import random
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from .errors import TrainerError
from .log import log

# ---- the rules ------------------------------------------------------------------------------


def device_rule(requested: str, cuda: bool, mps: bool) -> str:
    """The device type (cuda, mps or cpu) train.device names on a machine with these devices."""
    if requested == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if requested.startswith("cuda"):
        if not cuda:
            raise TrainerError(
                f"train.device is {requested!r} but PyTorch sees no CUDA GPU here; set train.device "
                "to auto or cpu",
                "train.device",
            )
        return "cuda"
    if requested == "mps":
        if not mps:
            raise TrainerError(
                "train.device is 'mps' but MPS is not available; set train.device to auto", "train.device"
            )
        return "mps"
    return "cpu"


def dtype_rule(requested: str, device: str, bf16: bool) -> str:
    """The dtype train.dtype names on a device type; bf16: the GPU has bfloat16."""
    if requested == "auto":
        if device == "cuda":
            return "bfloat16" if bf16 else "float16"
        return "float32"
    if requested == "float16" and device != "cuda":
        raise TrainerError(
            f"train.dtype float16 needs a CUDA GPU (device is {device}); use auto, bfloat16 or float32",
            "train.dtype",
        )
    if requested == "bfloat16" and device == "cuda" and not bf16:
        raise TrainerError("this GPU has no bfloat16; set train.dtype to auto or float16", "train.dtype")
    return requested


def compile_rule(requested: str, device: str) -> bool:
    """Whether train.compile compiles on a device type: auto compiles on CUDA alone."""
    return device == "cuda" if requested == "auto" else requested == "true"


# ---- the rules on this machine --------------------------------------------------------------


def mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """train.device here; a CUDA device is cuda:<local_rank> unless the name gives its index."""
    kind = device_rule(name, torch.cuda.is_available(), mps_available())
    if kind != "cuda":
        return torch.device(kind)
    index = int(name.split(":")[1]) if ":" in name else local_rank
    if index >= torch.cuda.device_count():
        raise TrainerError(
            f"train.device is {name!r} but only {torch.cuda.device_count()} CUDA device(s) exist; "
            "set train.device to cuda or auto",
            "train.device",
        )
    return torch.device("cuda", index)


def resolve_dtype(name: str, device: torch.device) -> str:
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    return dtype_rule(name, device.type, bf16)


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


def compute_init(
    *, device: str, dtype: str, seed: int, accumulation: int, processes: int, sharded: bool
) -> Compute:
    """The device and dtype for this process (train.device, train.dtype), the process group
    when torchrun started several (its RANK, LOCAL_RANK and WORLD_SIZE) or a sharded backend
    runs alone, TF32 matmuls on, every RNG seeded with train.seed. `accumulation` is
    train.gradient_accumulation_steps, `processes` the number the config asks for."""
    rank = int(os.environ.get("RANK", 0))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world != processes and world > 1:
        log(f"wordplay: warning: {world} processes, the config asks for {processes}")
    if accumulation % world:
        raise TrainerError(
            f"train.gradient_accumulation_steps {accumulation} must be a multiple of the {world} processes",
            "train.gradient_accumulation_steps",
        )
    torch_device = resolve_device(device, local_rank)
    if torch_device.type == "cuda":
        torch.cuda.set_device(torch_device)
    backend = "nccl" if torch_device.type == "cuda" else "gloo"
    if world > 1:
        dist.init_process_group(backend=backend)
    elif sharded:
        # FSDP and DeepSpeed need a process group even alone; a one-process one needs no launcher
        dist.init_process_group(backend=backend, store=dist.HashStore(), rank=0, world_size=1)
    resolved = resolve_dtype(dtype, torch_device)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if resolved == "float32":
        autocast: contextlib.AbstractContextManager = contextlib.nullcontext()
    else:
        autocast = torch.autocast(torch_device.type, dtype=getattr(torch, resolved))
    return Compute(rank, world, torch_device, resolved, autocast)


def in_process_group() -> bool:
    return dist.is_available() and dist.is_initialized()


def compute_cleanup() -> None:
    """Leaves the process group, if this process joined one."""
    if in_process_group():
        dist.destroy_process_group()
