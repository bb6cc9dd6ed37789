"""The GPU check's steps (check/gpu_check.py lists them), each a function that returns its
figures or raises StepFailed or StepSkipped. Training, resuming, exporting and benchmarking run
through the real commands, as child processes (harness.py); their figures come from the run's
events.jsonl.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path

import torch

from ..common.errors import TrainerError
from ..common.mfu import peak_flops
from ..prepare.char_dataset import write_char_dataset
from ..prepare.shakespeare import SHIPPED, shakespeare_text
from ..run.events import read_events
from ..run.rundir import RunDir
from ..train.checkpoint import checkpoint_dir, read_state
from .harness import Check, StepFailed, StepSkipped
from .parity import onnx_parity
from .sizes import Sizes

# ---- the figures of a run ----------------------------------------------------------------------


def segments(events: list[dict]) -> list[list[dict]]:
    """The events of each start of a run (a resume appends a second), in order."""
    out: list[list[dict]] = []
    for e in events:
        if e["type"] == "start":
            out.append([])
        if out:
            out[-1].append(e)
    return out


def of_type(events: list[dict], type_: str) -> list[dict]:
    return [e for e in events if e["type"] == type_]


def median_or_none(values: list) -> float | None:
    numbers = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(numbers) if numbers else None


def train_figures(events: list[dict], iters: int) -> dict:
    """The figures of one finished start of a run: throughput and MFU as medians of its train
    events after the first (that one may include compiling), losses, the last evaluation."""
    start, done = events[0], events[-1]
    trains = of_type(events, "train")
    evals = of_type(events, "eval")
    if done["type"] != "done" or done.get("reason") != "finished" or done.get("iter") != iters:
        raise StepFailed(f"the run did not finish at iteration {iters}: its last event is {done}")
    if not trains or not all(math.isfinite(e["loss"]) for e in trains):
        raise StepFailed(f"the run logged no finite train loss: {trains[-3:]}")
    timed = trains[1:] or trains
    return {
        "device": start["device"],
        "dtype": start["dtype"],
        "world_size": start.get("world_size", 1),
        "n_params": start["n_params"],
        "tokens_per_iter": start["tokens_per_iter"],
        "start_iter": start["iter"],
        "iters": done["iter"],
        "tokens_per_s": median_or_none([e["tokens_per_s"] for e in timed]),
        "dt_ms": median_or_none([e["dt_ms"] for e in timed]),
        "mfu": median_or_none([e["mfu"] for e in timed]),
        "timed_train_events": len(timed),
        "first_loss": trains[0]["loss"],
        "last_loss": trains[-1]["loss"],
        "first_train_iter": trains[0]["iter"],
        "val_loss": evals[-1]["val_loss"] if evals else None,
    }


# ---- the steps -------------------------------------------------------------------------------


def environment(dry_run: bool) -> dict:
    cuda = torch.cuda.is_available()
    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else []
    figures = {
        "cuda_available": cuda,
        "gpu_count": len(gpus),
        "gpu": gpus[0] if gpus else None,
        "peak_flops": peak_flops(gpus[0]) if gpus else None,
        "bf16_supported": bool(cuda and torch.cuda.is_bf16_supported()),
    }
    if dry_run:
        return figures
    if not cuda:
        raise StepFailed(
            f"PyTorch sees no CUDA GPU here (torch {torch.__version__}, CUDA build {torch.version.cuda}): "
            "run the check on a machine with an NVIDIA GPU and a CUDA build of PyTorch, or add --dry-run "
            "to check the script alone on the CPU",
            **figures,
        )
    if not figures["bf16_supported"]:
        raise StepFailed(f"{gpus[0]} has no bfloat16, which the check trains in", **figures)
    return figures


def prepare_dataset(out: Path) -> dict:
    """Tiny Shakespeare, char-level, into a dataset folder as `wordplay prepare --input
    shakespeare --tokenizer char` writes it (prepare/char_dataset.py)."""
    try:
        text = shakespeare_text()
    except TrainerError as e:
        raise StepFailed(e.message) from None
    meta = write_char_dataset(text, out, SHIPPED.name)
    return {k: meta[k] for k in ("characters", "vocab_size", "train_tokens")}


def sets(*pairs: str) -> list[str]:
    return [arg for pair in pairs for arg in ("--set", pair)]


def compute_sets(s: Sizes) -> list[str]:
    return sets(f"train.device={s.device}", f"train.dtype={s.dtype}", f"train.compile={s.compile}")


def trainer(*args: str) -> list[str]:
    return [sys.executable, "-m", "wordplay_trainer", *args]


def train(check: Check, dataset: Path, run: Path) -> dict:
    s = check.sizes
    args = trainer("train", "--config", "shakespeare-char", "--run-dir", str(run))
    args += sets(
        f"data.dataset={dataset}",
        f"train.max_iters={s.iters}",
        f"train.eval_interval={s.iters}",
        f"train.eval_iters={s.eval_iters}",
        f"train.log_interval={s.log_interval}",
        "train.always_save_checkpoint=true",
        "train.sample_tokens=0",
        *s.model,
    )
    check.child(args + compute_sets(s), "train", s.caps["train"])
    figures = train_figures(read_events(RunDir(run).events), s.iters)
    config = json.loads(RunDir(run).config.read_text(encoding="utf-8"))
    figures["compile"] = config["train"]["compile"] == "true"
    if figures["dtype"] != s.dtype:
        raise StepFailed(f"the run trained in {figures['dtype']}, not {s.dtype}", **figures)
    if not figures["last_loss"] < figures["first_loss"]:
        raise StepFailed("the loss did not fall during the run", **figures)
    return figures


def resume(check: Check, run: Path) -> dict:
    """The run continued from its checkpoint: it must start at the checkpoint's iteration and
    keep its loss: the first loss after the resume nearer the last before it than the first."""
    s = check.sizes
    target = s.iters + s.more_iters
    args = trainer("train", "--config", str(RunDir(run).config), "--run-dir", str(run))
    args += sets("train.init_from=resume", f"train.max_iters={target}")
    check.child(args, "resume", s.caps["resume"])
    before, after = segments(read_events(RunDir(run).events))[-2:]
    first = of_type(before, "train")
    figures = train_figures(after, target)
    state = read_state(checkpoint_dir(RunDir(run)))
    figures.update(
        resumed_at=figures.pop("start_iter"),
        checkpoint_iter=state["iteration"],
        loss_at_start=first[0]["loss"],
        loss_before_resume=first[-1]["loss"],
        loss_after_resume=figures["first_loss"],
    )
    if figures["resumed_at"] != s.iters or figures["first_train_iter"] != s.iters + s.log_interval:
        raise StepFailed(
            f"the resumed run started at iteration {figures['resumed_at']} (first logged "
            f"{figures['first_train_iter']}), not at the checkpoint's {s.iters}",
            **figures,
        )
    if figures["checkpoint_iter"] != target:
        raise StepFailed(
            f"the checkpoint after the resume is at iteration {state['iteration']}, not {target}"
        )
    midway = (figures["loss_at_start"] + figures["loss_before_resume"]) / 2
    if not figures["loss_after_resume"] < midway:
        raise StepFailed(
            f"the loss after the resume ({figures['loss_after_resume']:.4f}) is not below "
            f"{midway:.4f}, halfway back to the run's first ({figures['loss_at_start']:.4f}): "
            "the resumed run lost what the checkpoint had learnt",
            **figures,
        )
    return figures


def export(check: Check, dataset: Path, run: Path) -> dict:
    check.child(trainer("export", "--run", str(run)), "export", check.sizes.caps["export"])
    return onnx_parity(run, dataset)


def bench(check: Check, step: str, preset: str, extra: list[str]) -> dict:
    """The bench command's JSON for a preset (check/bench.py), as `wordplay bench training` prints it."""
    s = check.sizes
    args = trainer(
        "bench", "--config", preset, "--iters", str(s.bench_iters), "--warmup", str(s.bench_warmup)
    )
    stdout = check.child(args + extra + compute_sets(s), f"bench {preset}", s.caps[step])
    result = json.loads(stdout)
    if not result["tokens_per_s"] > 0:
        raise StepFailed(f"bench {preset} measured no throughput: {result}")
    return {"result": result, "sets": [a for a in extra if a != "--set"]}


def distributed(check: Check, dataset: Path, run: Path, gpu_count: int, dry_run: bool) -> dict:
    """shakespeare-char in 2 processes under torchrun (NCCL on GPUs; gloo on the CPU in a dry
    run), the same micro-batches per step as one process with twice the accumulation."""
    if not dry_run and gpu_count < 2:
        raise StepSkipped(f"{gpu_count} GPU here: 2 processes with NCCL need 2 GPUs")
    s = check.sizes
    args = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    args += ["-m", "wordplay_trainer", "train", "--config", "shakespeare-char", "--run-dir", str(run)]
    args += sets(
        f"data.dataset={dataset}",
        "distributed.nproc_per_node=2",
        "train.gradient_accumulation_steps=2",
        f"train.max_iters={s.distributed_iters}",
        f"train.eval_interval={s.distributed_iters}",
        f"train.eval_iters={s.eval_iters}",
        f"train.log_interval={min(s.log_interval, s.distributed_iters)}",
        "train.sample_tokens=0",
        *s.model,
    )
    check.child(args + compute_sets(s), "distributed", s.caps["distributed"])
    figures = train_figures(read_events(RunDir(run).events), s.distributed_iters)
    figures["backend"] = "gloo" if dry_run else "nccl"
    if figures["world_size"] != 2:
        raise StepFailed(f"the run had {figures['world_size']} process(es), not 2", **figures)
    return figures
