"""`python -m wordplay_trainer gpu-check --out <report.json> [--dry-run]`: the one-command GPU
check (#18). It needs Python, PyTorch, onnxruntime and this repository only: no Node.js, no
network. Its steps, each timed and recorded in the report as passed, failed or skipped, with
its figures:

  environment             Python, PyTorch, CUDA, the GPUs, the peak FLOPs schemas/gpu-peaks.json
                          knows for the first one (common.peak_flops)
  dataset                 tiny Shakespeare, char-level, prepared here from corpus/ as `wordplay
                          prepare` writes it
  train                   the shakespeare-char preset for 200 steps, bf16 autocast and
                          torch.compile, through the real command (`python -m wordplay_trainer
                          train` as a child process); tokens/s and MFU from its events.jsonl
  resume                  that run continued for 50 more steps (train.init_from=resume): it must
                          start at the checkpoint's iteration and keep the loss it had reached
  export                  `python -m wordplay_trainer export` of that run, then onnxruntime (CPU)
                          against PyTorch's logits (CPU, float32) for the same tokens
  bench_shakespeare_char  `python -m wordplay_trainer bench` (bench.py) for shakespeare-char on
                          the dataset above, and for gpt2-124m on random GPT-2 token ids (there is
  bench_gpt2_124m         no OpenWebText offline; the FLOPs per token are the same)
  distributed             shakespeare-char in 2 processes (torchrun, NCCL) when 2+ GPUs exist;
                          skipped, with the reason, on one

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

import argparse
import contextlib
import gzip
import hashlib
import json
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .checkpoint import checkpoint_dir, load_model, read_state
from .common import log, peak_flops
from .rundir import RunDir
from .schemas import PACKAGE_DIR

FORMAT = "wordplay-gpu-check"
FORMAT_VERSION = 1
BUDGET_S = 480  # the 8 minutes on one GPU
MIN_STEP_S = 10  # a child given less than this could not even import PyTorch
COMMAND = "python -m wordplay_trainer gpu-check"
CORPUS_DIR = PACKAGE_DIR.parents[1] / "corpus"
TRAIN_FRACTION = 0.9  # nanoGPT's split, as src/core/prepare/prepare.ts places it
# trainer/tests/test_export.py holds exports of logits about 1 in size to 1e-4; float32 rounding
# grows with the logits (a trained model's reach 10-30), so here the bound scales with them
PARITY_TOL = 1e-4
TAIL_CHARS = 3000  # of a failed child's stderr, kept in the report
KILL_GRACE_S = 20  # from SIGTERM to SIGKILL: torchrun stops its workers, a trainer checkpoints


@dataclass(frozen=True)
class Sizes:
    """How big each step runs: the GPU check's sizes, or the dry run's toy ones."""

    device: str
    dtype: str
    compile: str
    iters: int  # the train step's
    more_iters: int  # the resume step's
    log_interval: int
    eval_iters: int
    model: tuple[str, ...]  # --set overrides for every shakespeare-char run (the dry run's toy size)
    gpt2: tuple[str, ...]  # --set overrides for gpt2-124m's bench (the dry run's toy size)
    bench_iters: int
    bench_warmup: int
    distributed_iters: int
    caps: dict[str, int]  # seconds each step's child process may take, at most, by step


GPU = Sizes(
    device="cuda",
    dtype="bfloat16",
    compile="true",
    iters=200,
    more_iters=50,
    log_interval=10,
    eval_iters=20,
    model=(),
    gpt2=(),
    bench_iters=10,
    bench_warmup=3,
    distributed_iters=50,
    caps={
        "train": 150,
        "resume": 90,
        "export": 60,
        "bench_shakespeare_char": 120,
        "bench_gpt2_124m": 180,
        "distributed": 150,
    },
)
TOY_MODEL = ("model.n_layer=1", "model.n_head=2", "model.n_embd=32", "model.block_size=32")
DRY_RUN = Sizes(
    device="cpu",
    dtype="float32",
    compile="false",
    iters=30,
    more_iters=10,
    log_interval=5,
    eval_iters=2,
    model=(*TOY_MODEL, "train.batch_size=8"),
    gpt2=(*TOY_MODEL, "train.batch_size=2", "train.gradient_accumulation_steps=1"),
    bench_iters=2,
    bench_warmup=1,
    distributed_iters=6,
    caps={
        "train": 120,
        "resume": 120,
        "export": 120,
        "bench_shakespeare_char": 120,
        "bench_gpt2_124m": 120,
        "distributed": 180,
    },
)


class StepFailed(Exception):
    """A step's check did not hold: what failed, and the figures measured before it."""

    def __init__(self, message: str, **figures):
        super().__init__(message)
        self.message = message
        self.figures = figures


class StepSkipped(Exception):
    """A step that cannot run here; the message says why."""


# ---- the steps' plumbing ---------------------------------------------------------------------


class Check:
    """One run of the check: its scratch folder, its deadline, and each step's record."""

    def __init__(self, sizes: Sizes, work: Path):
        self.sizes = sizes
        self.work = work
        self.deadline = time.monotonic() + BUDGET_S
        self.steps: dict[str, dict] = {}

    def step(self, name: str, fn: Callable[[], dict], needs: tuple[str, ...] = ()) -> None:
        """Runs one step and records it; nothing it raises stops the check."""
        t0 = time.monotonic()
        record: dict
        try:
            missing = [n for n in needs if self.steps[n]["status"] != "passed"]
            if missing:
                raise StepSkipped(f"needs the {' and '.join(missing)} step(s), which did not pass")
            record = {"status": "passed", **fn()}
        except StepSkipped as e:
            record = {"status": "skipped", "reason": str(e)}
        except StepFailed as e:
            record = {"status": "failed", "error": e.message, **e.figures}
        except Exception as e:  # noqa: BLE001 - a broken step is a failed step, never a lost report
            traceback.print_exc()
            record = {"status": "failed", "error": f"{type(e).__name__}: {e}"}
        seconds = time.monotonic() - t0
        self.steps[name] = {"status": record.pop("status"), "seconds": seconds, **record}
        detail = record.get("error") or record.get("reason")
        log(
            f"[gpu-check] {name}: {self.steps[name]['status']} in {seconds:.1f} s"
            + (f": {detail}" if detail else "")
        )

    def child(self, args: list[str], what: str, cap: int) -> str:
        """Runs a child process to its end within min(cap, the budget left); returns its stdout.
        Its stderr goes to a log file, whose tail a failure carries."""
        timeout = min(cap, self.deadline - time.monotonic())
        if timeout < MIN_STEP_S:
            raise StepFailed(f"the {BUDGET_S // 60}-minute budget was spent before {what}")
        log(f"[gpu-check] {what}: {' '.join(args)} (at most {timeout:.0f} s)")
        stderr_path = self.work / f"{what.replace(' ', '-')}.log"
        with open(stderr_path, "w", encoding="utf-8") as stderr:
            proc = subprocess.Popen(
                args,
                cwd=self.work,
                env=child_env(),
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                start_new_session=True,  # its own process group: a kill reaches torchrun's workers
            )
            try:
                stdout, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_group(proc)
                raise StepFailed(
                    f"{what} ran past {timeout:.0f} s and was killed", stderr_tail=tail(stderr_path)
                ) from None
            except BaseException:  # Ctrl-C: the child is in a session of its own and would live on
                kill_group(proc)
                raise
        if proc.returncode != 0:
            raise StepFailed(f"{what} exited with {proc.returncode}", stderr_tail=tail(stderr_path))
        return stdout


def kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the child's process group, then SIGKILL to whatever of it is left after the
    grace. SIGTERM first because torchrun starts its workers in sessions of their own: a SIGKILL
    would orphan them on the GPU, while SIGTERM has torchrun stop them before it exits."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=KILL_GRACE_S)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def child_env() -> dict:
    """This environment, with the trainer importable and its output unbuffered; training
    children skip their export (the export step runs it as a command of its own)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_DIR.parent), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env["WORDPLAY_SKIP_EXPORT"] = "1"
    return env


def tail(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-TAIL_CHARS:]


def read_events(path: Path) -> list[dict]:
    """events.jsonl, a torn last line skipped."""
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return events


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


def prepare_shakespeare(out: Path) -> dict:
    """Tiny Shakespeare (corpus/, checked against its sha256), char-level, into a dataset folder
    as `wordplay prepare --input shakespeare --tokenizer char` writes it: sorted distinct
    characters, the first 90% of the characters train, uint16."""
    corpus = json.loads((CORPUS_DIR / "tinyshakespeare.json").read_text(encoding="utf-8"))
    raw = gzip.decompress((CORPUS_DIR / corpus["file"]).read_bytes())
    if hashlib.sha256(raw).hexdigest() != corpus["sha256"]:
        raise StepFailed(
            f"{CORPUS_DIR / corpus['file']} is damaged (its sha256 differs): check out corpus/ again"
        )
    text = raw.decode("utf-8")
    vocab = sorted(set(text))
    table = {ch: i for i, ch in enumerate(vocab)}
    ids = np.array([table[ch] for ch in text], dtype="<u2")
    split = int(len(text) * TRAIN_FRACTION)
    out.mkdir(parents=True)
    ids[:split].tofile(out / "train.bin")
    ids[split:].tofile(out / "val.bin")
    (out / "tokenizer.json").write_text(json.dumps({"type": "char", "vocab": vocab}), encoding="utf-8")
    train_bytes = len(text[:split].encode("utf-8"))
    meta = {
        "source": [corpus["file"]],
        "sha256": corpus["sha256"],
        "tokenizer": "char",
        "vocab_size": len(vocab),
        "dtype": "uint16",
        "documents": 1,
        "characters": len(text),
        "train_characters": split,
        "train_tokens": split,
        "val_tokens": len(text) - split,
        "train_bytes": train_bytes,
        "val_bytes": len(raw) - train_bytes,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (out / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return {"characters": len(text), "vocab_size": len(vocab), "train_tokens": split}


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
    figures = train_figures(read_events(run / "events.jsonl"), s.iters)
    config = json.loads((run / "config.json").read_text(encoding="utf-8"))
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
    args = trainer("train", "--config", str(run / "config.json"), "--run-dir", str(run))
    args += sets("train.init_from=resume", f"train.max_iters={target}")
    check.child(args, "resume", s.caps["resume"])
    before, after = segments(read_events(run / "events.jsonl"))[-2:]
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


@torch.no_grad()
def onnx_parity(run: Path, dataset: Path) -> dict:
    """The exported model.onnx (onnxruntime, CPU) against the checkpoint's model (PyTorch, CPU,
    float32) on the same val tokens: a prefill of half the block, then a quarter block of
    single-token steps through the KV cache; the largest logit difference over all of them,
    within PARITY_TOL of the largest logit (of 1 at least)."""
    # here, not at the top: without onnx or onnxruntime this step fails, the others still run
    import onnxruntime as ort

    from .export import ALL_POSITIONS, INPUT_IDS, POSITION_IDS

    model, _ = load_model(run, "cpu")
    meta = json.loads((run / "model.json").read_text(encoding="utf-8"))
    block = model.config.block_size
    n, steps = block // 2, block // 4
    tokens = np.fromfile(dataset / "val.bin", dtype="<u2")[: n + steps].astype(np.int64)

    logits, past = model.forward_cached(
        torch.from_numpy(tokens[None, :n]), torch.arange(n)[None, :], model.empty_cache(1)
    )
    expected = [logits[0].numpy()]
    for i in range(steps):
        logits, past = model.forward_cached(
            torch.from_numpy(tokens[None, n + i : n + i + 1]), torch.tensor([[n + i]]), past
        )
        expected.append(logits[0].numpy())

    session = ort.InferenceSession(str(run / meta["onnx"]), providers=["CPUExecutionProvider"])
    past_names = meta["inputs"][2:]
    width = meta["kv_cache"]["width"]
    flag = {ALL_POSITIONS: np.array(False)}  # the last position's logits, as generation asks
    feeds = {INPUT_IDS: tokens[None, :n], POSITION_IDS: np.arange(n)[None, :], **flag}
    feeds.update({name: np.zeros((1, 0, width), np.float32) for name in past_names})
    got = []
    for i in range(steps + 1):
        out = session.run(None, feeds)
        got.append(out[0][0])
        presents = out[1 : 1 + len(past_names)]
        feeds = {INPUT_IDS: tokens[None, n + i : n + i + 1], POSITION_IDS: np.array([[n + i]]), **flag}
        feeds.update(zip(past_names, presents, strict=True))

    diffs = [float(np.abs(g - e).max()) for g, e in zip(got, expected, strict=True)]
    largest = max(float(np.abs(e).max()) for e in expected)
    figures = {
        "max_abs_diff": max(diffs),
        "max_abs_logit": largest,
        "tolerance": PARITY_TOL * max(1.0, largest),
        "positions": len(diffs),
        "prompt_tokens": n,
        "top1_agreement": float(
            np.mean([g.argmax() == e.argmax() for g, e in zip(got, expected, strict=True)])
        ),
        "onnx_bytes": (run / meta["onnx"]).stat().st_size,
    }
    if not figures["max_abs_diff"] <= figures["tolerance"]:
        raise StepFailed(
            f"onnxruntime's logits differ from PyTorch's by up to {figures['max_abs_diff']:.2e}, over the "
            f"tolerance {figures['tolerance']:.2e}: the export of this model is wrong "
            "(trainer/wordplay_trainer/export.py)",
            **figures,
        )
    return figures


def bench(check: Check, step: str, preset: str, extra: list[str]) -> dict:
    """bench.py's JSON for a preset, as `wordplay bench training` prints it."""
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
    figures = train_figures(read_events(run / "events.jsonl"), s.distributed_iters)
    figures["backend"] = "gloo" if dry_run else "nccl"
    if figures["world_size"] != 2:
        raise StepFailed(f"the run had {figures['world_size']} process(es), not 2", **figures)
    return figures


# ---- the check -------------------------------------------------------------------------------


def run_check(dry_run: bool) -> dict:
    started = time.time()
    env = {}
    with tempfile.TemporaryDirectory(prefix="wordplay-gpu-check-") as tmp:
        work = Path(tmp)
        check = Check(DRY_RUN if dry_run else GPU, work)
        dataset, run = work / "shakespeare-char", work / "run"

        def environment_step() -> dict:
            env.update(environment(dry_run))
            return env

        check.step("environment", environment_step)
        gpu = () if dry_run else ("environment",)
        check.step("dataset", lambda: prepare_shakespeare(dataset))
        check.step("train", lambda: train(check, dataset, run), needs=(*gpu, "dataset"))
        check.step("resume", lambda: resume(check, run), needs=("train",))
        check.step("export", lambda: export(check, dataset, run), needs=("train",))
        char_sets = sets(f"data.dataset={dataset}", *check.sizes.model)
        check.step(
            "bench_shakespeare_char",
            lambda: bench(check, "bench_shakespeare_char", "shakespeare-char", char_sets),
            needs=(*gpu, "dataset"),
        )
        gpt2_sets = sets(*check.sizes.gpt2)
        check.step(
            "bench_gpt2_124m", lambda: bench(check, "bench_gpt2_124m", "gpt2-124m", gpt2_sets), needs=gpu
        )
        check.step(
            "distributed",
            lambda: distributed(check, dataset, work / "run-2", env.get("gpu_count", 0), dry_run),
            needs=(*gpu, "dataset"),
        )
    ran = [s for s in check.steps.values() if s["status"] != "skipped"]
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "dry_run": dry_run,
        "command": COMMAND + (" --dry-run" if dry_run else ""),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": time.time() - started,
        "budget_s": BUDGET_S,
        "passed": all(s["status"] == "passed" for s in ran),
        "machine": machine(),
        "steps": check.steps,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m wordplay_trainer gpu-check",
        description="Train, resume, export and benchmark on the GPU in about 8 minutes; write a JSON report.",
    )
    p.add_argument("--out", required=True, type=Path, help="the report to write (e.g. bench/gpu-check.json)")
    p.add_argument("--dry-run", action="store_true", help="the same steps on the CPU at toy sizes")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    report = run_check(args.dry_run)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(args.out.name + ".tmp")
    partial.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    partial.replace(args.out)
    failed = [name for name, s in report["steps"].items() if s["status"] == "failed"]
    verdict = "passed" if report["passed"] else f"FAILED ({', '.join(failed)})"
    log(f"[gpu-check] {verdict} in {report['seconds']:.0f} s; report: {args.out}")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
