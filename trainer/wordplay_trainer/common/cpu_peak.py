"""A CPU's peak FLOP/s, measured, so MFU is reported on CPUs too.

No table could give it: the rate depends on the cores, their vector units, the threads PyTorch
is given and the dtype. So a run measures it: the best rate of a few square matrix
multiplications (the kernel a GPT spends its FLOPs in) under this process's thread count and the
run's dtype, about 0.3 seconds. A rate is the better of wall time and CPU time divided
by the threads, so another process sharing the cores lowers it less. It is kept per machine in
the user's cache (cpu-peaks.json, keyed by the CPU's model name, threads, dtype and PyTorch's
version), so later runs read it; delete that file to measure again."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import torch

from .files import write_atomic
from .user_cache import cache_dir

CACHE_FILE = "cpu-peaks.json"
SECONDS = 0.2  # measuring time: enough for several multiplications of the size below
MIN_REPEATS = 3


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo's on Linux), else what the platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def measure(threads: int, dtype: torch.dtype) -> tuple[float, int]:
    """(best FLOP/s of an n×n matmul, n) with `threads` threads."""
    n = 1024 if threads <= 8 else 2048  # many cores need larger matrices to be kept busy
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a = torch.randn(n, n).to(dtype)
        b = torch.randn(n, n).to(dtype)
        a @ b  # the first call sets up the kernel
        best, start, repeats = 0.0, time.perf_counter(), 0
        while repeats < MIN_REPEATS or time.perf_counter() - start < SECONDS:
            wall, cpu = time.perf_counter(), time.process_time()
            a @ b
            wall, cpu = time.perf_counter() - wall, (time.process_time() - cpu) / threads
            seconds = min(wall, cpu) if cpu > 0 else wall
            best = max(best, 2 * n**3 / max(seconds, 1e-9))
            repeats += 1
    finally:
        torch.set_num_threads(before)
    return best, n


def cpu_peak(dtype: str, threads: int | None = None) -> tuple[float, str]:
    """(peak FLOP/s, how it was found) for matmuls in `dtype` (float32 or bfloat16) on this CPU
    with `threads` threads (default: this process's), from the cache or measured and kept."""
    threads = threads or torch.get_num_threads()
    key = f"{cpu_name()} | {threads} threads | {dtype} | torch {torch.__version__}"
    path = cache_dir() / CACHE_FILE
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(kept, dict):
            kept = {}
    except (OSError, ValueError):
        kept = {}
    entry = kept.get(key)
    if isinstance(entry, dict) and isinstance(entry.get("flops"), (int, float)) and entry["flops"] > 0:
        return float(entry["flops"]), f"{entry.get('how', 'measured')}, kept {entry.get('date', '')}".strip()
    flops, n = measure(threads, getattr(torch, dtype))
    how = f"measured: {n}x{n} {dtype} matmul, {threads} thread{'s' if threads > 1 else ''}"
    kept[key] = {"flops": flops, "how": how, "date": time.strftime("%Y-%m-%d")}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(kept, indent=2) + "\n")
    except OSError:
        pass  # a read-only cache measures again next time; the figure stands
    return flops, how
