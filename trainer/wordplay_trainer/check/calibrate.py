"""This machine's training throughput for the candidate shapes of Train for… (train/sizing.py): a
few steps of each, forward, backward and the optimizer's step on random tokens, timed; tokens/s
is the fastest step's: other processes only ever slow a step (on a busy 2-core machine two
PyTorch threads ran the median step 3 to 10 times slower than the fastest), so the fastest is
this machine's own speed. The figures are kept in a small JSON file in the user's cache folder, per
machine (the device's name, PyTorch's thread count and version) and per shape, so a second plan
on the same machine starts at once; --recalibrate in the `size` command measures again.

The steps run as the training loop runs them: the config's device and dtype (autocast), its
optimizer, uncompiled (sizing.run_config does not compile). A shape that does not fit in the
GPU's memory is recorded as 0 tokens/s: it can never be chosen.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import torch

from ..common.compute import resolve_dtype
from ..common.files import write_atomic
from ..common.user_cache import cache_dir
from ..train.model import GPT, GPTConfig
from ..train.optimizer import make_optimizer
from ..train.run_config import OptimizerConfig
from ..train.sizing import Candidate

CACHE_VERSION = 1
WARMUP_STEPS = 2  # allocator, caches, the first Newton-Schulz iterations
MIN_STEPS = 5  # timed, at least
MIN_TIME_S = 1.0  # and until this long has passed, for at most
MAX_STEPS = 20


def default_cache_file() -> Path:
    return cache_dir() / "calibration.json"


def machine_key(device: torch.device) -> str:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    return f"{name} | {torch.get_num_threads()} threads | torch {torch.__version__}"


def shape_key(c: Candidate, vocab_size: int, dtype: str, architecture: dict, optimizer: str) -> str:
    options = ",".join(f"{k}={architecture[k]}" for k in sorted(architecture))
    return (
        f"{c.n_layer}x{c.n_embd} h{c.n_head} block {c.block_size} batch {c.batch_size} vocab "
        f"{vocab_size} {dtype} {optimizer} {options}"
    )


class Calibration:
    """tokens/s per candidate on one device, from the cache file or measured (and kept)."""

    def __init__(self, cache_file: Path, device: torch.device, dtype: str, fresh: bool = False):
        self.cache_file = cache_file
        self.device = device
        self.dtype = resolve_dtype(dtype, device)
        self.machine = machine_key(device)
        self.entries: dict = {} if fresh else self._read().get(self.machine, {})
        self.measured_s = 0.0  # seconds spent measuring in this process
        self.cached = 0  # candidates answered from the cache

    def _read(self) -> dict:
        try:
            data = json.loads(self.cache_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # none yet, or unreadable: measured again and rewritten
        ok = isinstance(data, dict) and data.get("version") == CACHE_VERSION
        return data.get("machines", {}) if ok and isinstance(data.get("machines"), dict) else {}

    def _write(self) -> None:
        machines = self._read()
        machines[self.machine] = self.entries
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.cache_file, json.dumps({"version": CACHE_VERSION, "machines": machines}, indent=1))

    def tokens_per_s(
        self,
        c: Candidate,
        optimizer: OptimizerConfig,
        architecture: dict,
        say: Callable[[str], None] = lambda _: None,
    ) -> float:
        key = shape_key(c, c.config.vocab_size, self.dtype, architecture, optimizer.name)
        if key in self.entries:
            self.cached += 1
            return float(self.entries[key])
        say(f"calibrating {c.name} ({c.params / 1e6:.2f}M parameters) on {self.device} ...")
        started = time.perf_counter()
        tps = measure(c.config, c.batch_size, optimizer, self.device, self.dtype)
        self.measured_s += time.perf_counter() - started
        say(f"{c.name}: {tps:,.0f} tokens/s")
        self.entries[key] = round(tps, 1)
        self._write()
        return tps


def measure(
    config: GPTConfig, batch_size: int, opt: OptimizerConfig, device: torch.device, dtype: str
) -> float:
    """Tokens/s of the fastest of a few training steps of a fresh model on random tokens; 0 when
    the device runs out of memory."""
    as_float32 = dtype == "float32"
    autocast = contextlib.nullcontext() if as_float32 else torch.autocast(device.type, getattr(torch, dtype))
    syncs = {"cuda": torch.cuda.synchronize, "mps": lambda: torch.mps.synchronize()}
    sync = syncs.get(device.type, lambda: None)  # a GPU's step is timed once it has run
    model = optimizer = None
    try:
        model = GPT(config).to(device)
        optimizer = make_optimizer(model, opt, device)
        scaler = torch.amp.GradScaler("cuda", enabled=dtype == "float16")
        x = torch.randint(config.vocab_size, (batch_size, config.block_size), device=device)
        y = torch.randint(config.vocab_size, (batch_size, config.block_size), device=device)
        times: list[float] = []
        began = time.perf_counter()
        step = 0
        while len(times) < MIN_STEPS or (time.perf_counter() - began < MIN_TIME_S and len(times) < MAX_STEPS):
            sync()
            t0 = time.perf_counter()
            with autocast:
                _, loss = model(x, y)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            loss.item()
            sync()
            if step >= WARMUP_STEPS:
                times.append(time.perf_counter() - t0)
            else:
                began = time.perf_counter()
            step += 1
        return batch_size * config.block_size / min(times)
    except torch.OutOfMemoryError:
        return 0.0
    finally:
        del model, optimizer
        if device.type == "cuda":
            torch.cuda.empty_cache()
