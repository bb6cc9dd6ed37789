"""The machine a run trains on, after nanochat's common.py: the device, dtype and compile
setting a config resolves to here, and this process's place in a torchrun group.

What train.device, train.dtype and train.compile resolve to is a rule of a few facts (a CUDA
GPU is present, Apple's MPS is, the GPU has bfloat16, how long a CPU run trains): `device_rule`,
`dtype_rule` and `compile_rule` are pure functions of them, held to test/cases/auto-rules.json,
the table the config editor's estimate (src/core/train/autoRules.ts) is held to as well;
`resolve_device` and `resolve_dtype` ask PyTorch for the facts, `cpu_run_seconds` estimates a
CPU run's length."""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import sys
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from .errors import TrainerError
from .log import log
from .schemas import read_json
from .user_cache import cache_dir

COMPILE = read_json("compile.json")
# The share of the CPU's measured matmul peak (cpu_peak.py) an uncompiled training step reaches:
# 0.42-0.62 measured for the CPU presets on one thread; toys and large vocabularies reach less, so
# their runs are longer than this predicts, never shorter
CPU_EAGER_MFU = 0.5

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


def compile_rule(requested: str, device: str, run_seconds: float | None, n_embd: int, dropout: float) -> bool:
    """Whether train.compile compiles on a device type. auto: always on CUDA, never on MPS; on the
    CPU where it was measured to pay (schemas/compile.json): a narrow model (n_embd at most
    cpu_max_n_embd, where fusing the element-wise work saves most) without dropout (which makes a
    compiled CPU step slower), in a run expected to train at least cpu_min_run_seconds uncompiled
    (`run_seconds`; None: not known), long enough to repay compiling with a cold cache."""
    if requested != "auto":
        return requested == "true"
    if device == "cpu":
        long_enough = run_seconds is not None and run_seconds >= COMPILE["cpu_min_run_seconds"]
        return long_enough and n_embd <= COMPILE["cpu_max_n_embd"] and dropout == 0
    return device == "cuda"


def cpu_run_seconds(flops: float, peak: float | None, time_budget_s: float | None) -> float | None:
    """The seconds a CPU run's training FLOPs take uncompiled, at CPU_EAGER_MFU of the measured
    peak, at most its time budget; None without a peak (and no budget)."""
    seconds = flops / (peak * CPU_EAGER_MFU) if peak else None
    if time_budget_s is not None:
        seconds = time_budget_s if seconds is None else min(seconds, time_budget_s)
    return seconds


def compile_model(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """torch.compile(model); on the CPU its kernels are kept in the user's cache, which outlives a
    reboot where the temporary folder (inductor's default) does not, unless
    TORCHINDUCTOR_CACHE_DIR names another folder."""
    if device.type == "cpu":
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir() / "torchinductor"))
    return torch.compile(model)


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


def keep_freed_memory() -> None:
    """Has glibc's malloc keep what PyTorch frees for the next step. By default it hands freed
    blocks of a few hundred KB back to the system, and the next step faults them in again: 1,500-2,000
    minor page faults a step of nanogpt-shakespeare-char-cpu on one thread, 2 µs each, 6-9% of the
    step (3% of shakespeare-char-cpu's); with these settings, a handful. Memory then stays at the
    step's peak, which training reaches at every step anyway. Elsewhere (macOS, Windows, musl)
    nothing changes."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD: blocks under 32 MB come from the heap, reused
    libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: the heap's free top is kept up to 1 GB


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
    else:
        keep_freed_memory()
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
