"""The one-command GPU check (#18) as a report: `python -m wordplay_trainer gpu-check --out
<report.json> [--dry-run]` (commands/gpu_check.py) writes it. It needs Python, PyTorch,
onnxruntime and this repository only: no Node.js, no network. Its steps, each timed and recorded
in the report as passed, failed or skipped, with its figures:

  environment             Python, PyTorch, CUDA, the GPUs, the peak FLOPs schemas/gpu-peaks.json
                          knows for the first one (common/mfu.py)
  dataset                 tiny Shakespeare, char-level, prepared here from corpus/ as `wordplay
                          prepare` writes it (prepare/char_dataset.py)
  train                   the shakespeare-char preset for 200 steps, bf16 autocast and
                          torch.compile, through the real command (`python -m wordplay_trainer
                          train` as a child process); tokens/s and MFU from its events.jsonl
  resume                  that run continued for 50 more steps (train.init_from=resume): it must
                          start at the checkpoint's iteration and keep the loss it had reached
  export                  `python -m wordplay_trainer export` of that run, then onnxruntime (CPU)
                          against PyTorch's logits (CPU, float32) for the same tokens (parity.py)
  bench_shakespeare_char  `python -m wordplay_trainer bench` (bench.py) for shakespeare-char on
                          the dataset above, and for gpt2-124m on random GPT-2 token ids (there is
  bench_gpt2_124m         no OpenWebText offline; the FLOPs per token are the same)
  distributed             shakespeare-char in 2 processes (torchrun, NCCL) when 2+ GPUs exist;
                          skipped, with the reason, on one

The steps are in steps.py, their plumbing (records, child processes, the budget) in harness.py,
their sizes in sizes.py.

Limits: 8 minutes in all. Each child process gets at most its own cap and what is left of the
budget; past it, its process group gets SIGTERM, then SIGKILL (POSIX only), and the step fails,
as does a step that finds the budget spent. One GPU (cuda:0) serves every step but the
distributed one. The figures are one short run each, not medians over repeated runs: `npm run
bench` renders them in BENCHMARKS.md as what they are.

--dry-run: the same steps and report on the CPU at toy sizes (float32, no compile, a 1-layer
model, a few iterations, gloo for the 2 processes), so CI runs the script's own logic; the
report says "dry_run": true and `npm run bench` never renders it as GPU figures.
"""

from __future__ import annotations

import os
import platform
import socket
import tempfile
import time
from pathlib import Path

import torch

from . import steps
from .harness import BUDGET_S, Check
from .sizes import DRY_RUN, GPU

# the report's own format (schemas/gpu-check.schema.json), not model.json's
REPORT_FORMAT = "wordplay-gpu-check"
REPORT_VERSION = 1
COMMAND = "python -m wordplay_trainer gpu-check"


def machine() -> dict:
    """The machine, in the fields bench/report.mjs prints for each machine."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line
        ]
        cpu = names[0] if names else cpu
    try:
        memory = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
    except (ValueError, OSError, AttributeError):
        memory = None
    cuda = torch.cuda.is_available()
    return {
        "hostname": socket.gethostname(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else [],
    }


def run_check(dry_run: bool) -> dict:
    started = time.time()
    env = {}
    with tempfile.TemporaryDirectory(prefix="wordplay-gpu-check-") as tmp:
        work = Path(tmp)
        check = Check(DRY_RUN if dry_run else GPU, work)
        dataset, run = work / "shakespeare-char", work / "run"

        def environment_step() -> dict:
            env.update(steps.environment(dry_run))
            return env

        check.step("environment", environment_step)
        gpu = () if dry_run else ("environment",)
        check.step("dataset", lambda: steps.prepare_dataset(dataset))
        check.step("train", lambda: steps.train(check, dataset, run), needs=(*gpu, "dataset"))
        check.step("resume", lambda: steps.resume(check, run), needs=("train",))
        check.step("export", lambda: steps.export(check, dataset, run), needs=("train",))
        char_sets = steps.sets(f"data.dataset={dataset}", *check.sizes.model)
        check.step(
            "bench_shakespeare_char",
            lambda: steps.bench(check, "bench_shakespeare_char", "shakespeare-char", char_sets),
            needs=(*gpu, "dataset"),
        )
        gpt2_sets = steps.sets(*check.sizes.gpt2)
        check.step(
            "bench_gpt2_124m",
            lambda: steps.bench(check, "bench_gpt2_124m", "gpt2-124m", gpt2_sets),
            needs=gpu,
        )
        check.step(
            "distributed",
            lambda: steps.distributed(check, dataset, work / "run-2", env.get("gpu_count", 0), dry_run),
            needs=(*gpu, "dataset"),
        )
    ran = [s for s in check.steps.values() if s["status"] != "skipped"]
    return {
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "dry_run": dry_run,
        "command": COMMAND + (" --dry-run" if dry_run else ""),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": time.time() - started,
        "budget_s": BUDGET_S,
        "passed": all(s["status"] == "passed" for s in ran),
        "machine": machine(),
        "steps": check.steps,
    }
