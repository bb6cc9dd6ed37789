"""`python -m wordplay_trainer train --config <file|preset> [--run-dir D] [--set group.key=value ...]`

The training loop, after nanoGPT's train.py: AdamW (fused on CUDA, weight decay on matrices
and embeddings only), warmup + cosine learning rate, gradient accumulation (DDP gradient sync
on the last micro-step only), gradient clipping, autocast bf16/fp16 (GradScaler for fp16),
TF32, torch.compile, evaluation + checkpoint + sample every eval_interval. Machine data goes
to the run dir's events.jsonl (rank 0 alone writes), a readable line per log interval to
stderr. SIGINT/SIGTERM: finish the step, checkpoint, `done` stopped, exit 0. Any failure: an
`error` event naming the key or file and the fix, then a non-zero exit.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import re
import signal
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import torch

from . import checkpoint as ckpt
from .config import INIT_KEYWORDS, config_name, load_config
from .data import Batches, Dataset
from .errors import TrainerError
from .events import EventWriter
from .mfu import device_peak, flops_per_token, mfu
from .model import GPT, GPTConfig
from .rundir import RunDir, default_run_dir

EVAL_SEED_OFFSET = 1_000_003


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class StopFlag:
    """Set by SIGINT/SIGTERM, or when the run's watcher is gone for longer than a grace period.

    The watcher is the process named by WORDPLAY_STOP_WITH_PID (the VS Code window or the
    terminal's `wordplay train` that started the run), or the one a later window recorded in the
    run dir's watcher.json when it took the run over. The grace period (WORDPLAY_STOP_GRACE_S)
    lets a reloaded window take over before the run stops. The loop checks the flag after each
    step, and every rank agrees through the step's all-reduce."""

    def __init__(
        self, watch_pid: int | None = None, watcher_file: Path | None = None, grace_s: float = 15.0
    ) -> None:
        self.signum: int | None = None
        self._previous: dict = {}
        self._watch_pid = watch_pid
        self._watcher_file = watcher_file
        self._grace_s = grace_s
        self._checked_at = 0.0
        self._orphaned_at: float | None = None

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum, _frame) -> None:
        if self.signum is None:
            log("wordplay: stopping after this step; saving a checkpoint ...")
        self.signum = signum

    def _watcher(self) -> int | None:
        """The pid a window recorded when it took the run over, else the one that started it."""
        if self._watcher_file is not None:
            try:
                pid = json.loads(self._watcher_file.read_text())["pid"]
                if isinstance(pid, int) and pid > 0:
                    return pid
            except (OSError, ValueError, KeyError, TypeError):
                pass
        return self._watch_pid

    def _watcher_gone_long_enough(self) -> bool:
        now = time.monotonic()
        if self._watch_pid is None or now - self._checked_at < 1.0:
            return False
        self._checked_at = now
        watcher = self._watcher()
        try:
            os.kill(watcher, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        except PermissionError:
            alive = True
        if alive:
            if self._orphaned_at is not None:
                log(f"wordplay: process {watcher} took the run over; training on")
            self._orphaned_at = None
            return False
        if self._orphaned_at is None:
            self._orphaned_at = now
            log(
                f"wordplay: process {watcher}, which started this run, is gone; stopping in "
                f"{self._grace_s:g} s unless a VS Code window takes the run over ..."
            )
        return now - self._orphaned_at >= self._grace_s

    @property
    def set(self) -> bool:
        if self.signum is None and self._watcher_gone_long_enough():
            log("wordplay: no window took the run over; stopping after this step ...")
            self.signum = signal.SIGTERM
        return self.signum is not None


# ---- choices made from the config and the machine ---------------------------------------


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


def learning_rate(it: int, opt: dict, max_iters: int) -> float:
    """Linear warmup, then cosine decay to min_lr at lr_decay_iters (default max_iters)."""
    lr, min_lr = opt["learning_rate"], opt["min_lr"]
    if not opt["decay_lr"]:
        return lr
    warmup = opt["warmup_iters"]
    decay = opt["lr_decay_iters"] or max_iters
    if it < warmup:
        return lr * (it + 1) / (warmup + 1)
    if it >= decay:
        return min_lr
    ratio = (it - warmup) / max(1, decay - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


def make_optimizer(model: torch.nn.Module, opt: dict, device: torch.device) -> torch.optim.AdamW:
    """AdamW with weight decay on tensors of rank >= 2 only (matrices, embeddings)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": opt["weight_decay"]},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    extra = {"fused": True} if device.type == "cuda" else {}
    return torch.optim.AdamW(groups, lr=opt["learning_rate"], betas=(opt["beta1"], opt["beta2"]), **extra)


def sample_start(tokenizer: dict) -> int:
    if tokenizer.get("type") == "char":
        vocab = tokenizer["vocab"]
        return vocab.index("\n") if "\n" in vocab else 0
    return 50256  # GPT-2's <|endoftext|>


def write_json_atomic(path: Path, value: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class NonFiniteLoss(Exception):
    pass


# ---- the run -----------------------------------------------------------------------------


class Trainer:
    def __init__(self, cfg: dict, run_dir: RunDir, events: EventWriter, stop: StopFlag):
        self.cfg = cfg
        self.run_dir = run_dir
        self.events = events
        self.stop = stop
        self.rank = int(os.environ.get("RANK", 0))
        self.local_rank = int(os.environ.get("LOCAL_RANK", 0))
        self.world = int(os.environ.get("WORLD_SIZE", 1))
        self.master = self.rank == 0
        self.iter = 0
        self.ddp = False
        self.engine = None  # DeepSpeed
        self.wandb = None

    # -- set-up

    def setup(self) -> None:
        cfg, t = self.cfg, self.cfg["train"]
        expected = cfg["distributed"]["nproc_per_node"] * cfg["distributed"]["nnodes"]
        if self.world != expected and self.world > 1:
            log(f"wordplay: warning: {self.world} processes, the config asks for {expected}")
        if t["gradient_accumulation_steps"] % self.world:
            raise TrainerError(
                f"train.gradient_accumulation_steps {t['gradient_accumulation_steps']} must be a multiple "
                f"of the {self.world} processes",
                "train.gradient_accumulation_steps",
            )
        self.device = resolve_device(t["device"], self.local_rank)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        if self.world > 1:
            import torch.distributed as dist

            dist.init_process_group(backend="nccl" if self.device.type == "cuda" else "gloo")
            self.ddp = True
        self.dtype = resolve_dtype(t["dtype"], self.device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

        seed = t["seed"]
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)

        self.dataset = Dataset(cfg["data"]["dataset"])
        self.model, self.resume_state, self.resume_folder = self._build_model()
        self.dataset.check_block_size(self.model.config.block_size)
        self.model.to(self.device)
        torch.manual_seed(seed + self.rank)  # dropout differs per process

        block = self.model.config.block_size
        self.train_batches = Batches(self.dataset, "train", block, t["batch_size"], self.device, seed)
        self.optimizer = make_optimizer(self.model, cfg["optimizer"], self.device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.dtype == "float16")
        self.best_val = math.inf
        self.last_val: float | None = None
        if self.resume_state is not None:
            self._restore()

        if self.dtype == "float32":
            self.autocast = contextlib.nullcontext()
        else:
            self.autocast = torch.autocast(self.device.type, dtype=getattr(torch, self.dtype))
        self.compiled = self.model
        if resolve_compile(t["compile"], self.device):
            log("wordplay: compiling the model (torch.compile) ...")
            self.compiled = torch.compile(self.model)
        self.step_model = self.compiled
        if cfg["distributed"]["backend"] == "deepspeed":
            self._deepspeed()
        elif self.ddp:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.step_model = DDP(self.compiled, device_ids=ids)
        if cfg["logging"]["wandb"] and self.master:
            self._wandb()

    def _build_model(self) -> tuple[GPT, dict | None, Path | None]:
        cfg, m = self.cfg, self.cfg["model"]
        init = cfg["train"]["init_from"]
        if init == "scratch":
            args = {k: m[k] for k in ("block_size", "n_layer", "n_head", "n_embd", "dropout", "bias")}
            return GPT(GPTConfig(vocab_size=self.dataset.vocab_size, **args)), None, None
        if init == "resume":
            folder = ckpt.checkpoint_dir(self.run_dir)
            state = ckpt.read_state(folder)
            if state.get("tokenizer") != self.dataset.tokenizer:
                raise TrainerError(
                    f"the dataset {self.dataset.path} has a different vocabulary ({self.dataset.vocab_size} "
                    f"tokens, {self.dataset.tokenizer.get('type')}) from the checkpoint being resumed "
                    f"({state['model_args']['vocab_size']} tokens); set data.dataset to the dataset this run "
                    "was trained on, or train a new run with train.init_from=scratch",
                    "data.dataset",
                )
            args = dict(state["model_args"])
            args["dropout"] = m["dropout"]
            changed = [k for k in ("block_size", "n_layer", "n_head", "n_embd", "bias") if args[k] != m[k]]
            if changed and self.master:
                log(f"wordplay: resuming keeps the checkpoint's model shape ({', '.join(changed)} ignored)")
            model = GPT(GPTConfig(**args))
            ckpt.load_weights(model, folder)
            return model, state, folder
        # OpenAI's GPT-2, from the hub or a local folder
        from .pretrained import from_pretrained

        if self.dataset.tokenizer.get("type") != "gpt2":
            raise TrainerError(
                f"train.init_from {init!r} needs a GPT-2 BPE dataset, but {self.dataset.path} is "
                f"{self.dataset.tokenizer.get('type')}-level; prepare one with "
                "`wordplay prepare --tokenizer gpt2`",
                "data.dataset",
            )
        if init not in INIT_KEYWORDS and not Path(init).is_dir():
            raise TrainerError(
                f"train.init_from {init!r} is neither scratch, resume, gpt2* nor a folder; fix the path",
                "train.init_from",
            )
        model = from_pretrained(init, dropout=m["dropout"])
        if m["block_size"] > model.config.block_size:
            raise TrainerError(
                f"model.block_size {m['block_size']} exceeds the {model.config.block_size} positions of "
                f"{init}; set model.block_size to at most {model.config.block_size}",
                "model.block_size",
            )
        model.crop_block_size(m["block_size"]) if m["block_size"] < model.config.block_size else None
        return model, None, None

    def _restore(self) -> None:
        state, folder = self.resume_state, self.resume_folder
        assert state is not None and folder is not None
        meta = ckpt.load_optimizer(self.optimizer, folder)
        if meta.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(meta["scaler"])
        self.iter = int(state["iteration"])
        best = state.get("best_val_loss")
        self.best_val = math.inf if best is None else float(best)
        self.last_val = state.get("val_loss")
        rngs = state.get("rng") or []
        if rngs:
            mine = rngs[self.rank] if self.rank < len(rngs) else rngs[0]
            ckpt.set_rng_state(mine, self.train_batches.generator)
        if self.iter >= self.cfg["train"]["max_iters"]:
            raise TrainerError(
                f"train.max_iters {self.cfg['train']['max_iters']} is not beyond the checkpoint's iteration "
                f"{self.iter}; raise train.max_iters to continue training",
                "train.max_iters",
            )

    def _deepspeed(self) -> None:
        try:
            import deepspeed
        except ImportError:
            raise TrainerError(
                "distributed.backend=deepspeed needs DeepSpeed, which is not installed in the trainer's "
                f"Python ({sys.executable}); install it with `{sys.executable} -m pip install deepspeed`, "
                "or set distributed.backend=ddp",
                "distributed.backend",
            ) from None
        t, d = self.cfg["train"], self.cfg["distributed"]
        ds_config = {
            "train_micro_batch_size_per_gpu": t["batch_size"],
            "gradient_accumulation_steps": t["gradient_accumulation_steps"] // self.world,
            "zero_optimization": {"stage": d["zero_stage"]},
            "gradient_clipping": self.cfg["optimizer"]["grad_clip"],
            "bf16": {"enabled": self.dtype == "bfloat16"},
            "fp16": {"enabled": self.dtype == "float16"},
        }
        self.engine, self.optimizer, _, _ = deepspeed.initialize(
            model=self.model, optimizer=self.optimizer, config=ds_config
        )
        self.step_model = self.engine

    def _wandb(self) -> None:
        try:
            import wandb
        except ImportError:
            log("wordplay: warning: logging.wandb is on but wandb is not installed; continuing without it")
            return
        lg = self.cfg["logging"]
        self.wandb = wandb
        wandb.init(
            project=lg["wandb_project"], name=lg["wandb_run_name"] or self.run_dir.root.name, config=self.cfg
        )

    # -- pieces of the loop

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        t = self.cfg["train"]
        self.model.eval()
        out = {}
        for split in ("train", "val"):
            batches = Batches(
                self.dataset, split, self.model.config.block_size, t["batch_size"], self.device, t["seed"]
            )
            losses = []
            for x, y in batches.fixed(t["eval_iters"], t["seed"] + EVAL_SEED_OFFSET):
                with self.autocast:
                    _, loss = self.compiled(x, y)
                losses.append(loss.float())
            out[split] = torch.stack(losses).mean().item()
        self.model.train()
        return out

    def sample(self) -> list[int]:
        n = self.cfg["train"]["sample_tokens"]
        if n == 0:
            return []
        g = torch.Generator(device=self.device)
        g.manual_seed(self.cfg["train"]["seed"] + self.iter)
        start = torch.tensor([[sample_start(self.dataset.tokenizer)]], device=self.device)
        self.model.eval()
        with torch.no_grad(), self.autocast:
            out = self.model.generate(start, n, temperature=0.8, top_k=200, generator=g)
        self.model.train()
        return out[0, 1:].tolist()

    def save(self, reason: str) -> None:
        """All processes call this (RNG states are gathered); rank 0 writes."""
        rng = ckpt.rng_state(self.train_batches.generator)
        if self.ddp:
            import torch.distributed as dist

            rngs: list = [None] * self.world
            dist.all_gather_object(rngs, rng)
        else:
            rngs = [rng]
        if not self.master:
            return
        state = {
            "iteration": self.iter,
            "best_val_loss": None if math.isinf(self.best_val) else self.best_val,
            "val_loss": self.last_val,
            "tokenizer": self.dataset.tokenizer,
            "dataset": str(self.dataset.path),
            "reason": reason,
            "rng": rngs,
        }
        extra = {"scaler": self.scaler.state_dict()} if self.scaler.is_enabled() else {}
        optimizer = None if self.engine is not None else self.optimizer
        ckpt.save_checkpoint(self.run_dir, self.model, optimizer, state, extra)
        self.events.emit("checkpoint", iter=self.iter, val_loss=self.last_val)

    def _sync(self, loss_sum: torch.Tensor) -> tuple[float, bool]:
        """Mean loss over every process's micro-batches, and whether any process was asked to stop."""
        flags = torch.stack([loss_sum.float(), torch.tensor(float(self.stop.set), device=loss_sum.device)])
        if self.ddp:
            import torch.distributed as dist

            dist.all_reduce(flags)
            flags[0] /= self.world
        values = flags.tolist()
        return values[0], values[1] > 0

    def train_step(self) -> tuple[float, bool]:
        t, opt = self.cfg["train"], self.cfg["optimizer"]
        lr = learning_rate(self.iter, opt, t["max_iters"])
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        micro = t["gradient_accumulation_steps"] // self.world
        loss_sum = torch.zeros((), device=self.device)
        for m, (x, y) in enumerate(
            self.train_batches.step(t["gradient_accumulation_steps"], self.world, self.rank)
        ):
            if self.engine is not None:
                with self.autocast:
                    _, loss = self.engine(x, y)
                self.engine.backward(loss)
                self.engine.step()
                loss_sum += loss.detach() / micro
                continue
            if self.ddp:
                self.step_model.require_backward_grad_sync = m == micro - 1
            with self.autocast:
                _, loss = self.step_model(x, y)
                loss = loss / micro
            self.scaler.scale(loss).backward()
            loss_sum += loss.detach()
        mean_loss, stop = self._sync(loss_sum)
        if not math.isfinite(mean_loss):
            raise NonFiniteLoss(mean_loss)
        if self.engine is None:
            if opt["grad_clip"] > 0:
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), opt["grad_clip"])
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.optimizer.zero_grad(set_to_none=True)
        self.lr = lr
        return mean_loss, stop

    # -- the loop

    def run(self) -> str:
        cfg, t = self.cfg, self.cfg["train"]
        B, G, T = t["batch_size"], t["gradient_accumulation_steps"], self.model.config.block_size
        c = self.model.config
        n_params = self.model.num_params()
        tokens_per_iter = B * G * T
        flops_token = flops_per_token(n_params, c.n_layer, c.n_head, c.n_embd // c.n_head, T)
        peak = device_peak(self.device)
        device_name = str(self.device)
        if self.device.type == "cuda":
            device_name += f" ({torch.cuda.get_device_name(self.device)})"
        self.events.emit(
            "start",
            iter=self.iter,
            max_iters=t["max_iters"],
            pid=os.getpid(),
            device=device_name,
            dtype=self.dtype,
            n_params=n_params,
            tokens_per_iter=tokens_per_iter,
            world_size=self.world,
            init_from=t["init_from"],
            run_dir=str(self.run_dir.root),
        )
        if self.master:
            log(
                f"wordplay: training {n_params / 1e6:.2f}M parameters on {device_name} ({self.dtype}), "
                f"{self.world} process(es), {tokens_per_iter:,} tokens per iteration, "
                f"iterations {self.iter} -> {t['max_iters']}; run dir {self.run_dir.root}"
            )
        self.model.train()
        while self.iter < t["max_iters"]:
            t0 = time.perf_counter()
            try:
                loss, stop = self.train_step()
            except NonFiniteLoss as e:
                raise TrainerError(
                    f"the loss became {e.args[0]} at iteration {self.iter}: training diverged. Lower "
                    f"optimizer.learning_rate (now {cfg['optimizer']['learning_rate']:g}, try "
                    f"{cfg['optimizer']['learning_rate'] / 3:.2g}) or lengthen optimizer.warmup_iters; "
                    "the last checkpoint was left untouched",
                    "optimizer.learning_rate",
                ) from None
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            dt = time.perf_counter() - t0
            self.iter += 1
            if self.iter % t["log_interval"] == 0 or self.iter == t["max_iters"]:
                tps = tokens_per_iter / dt
                util = mfu(flops_token, tps / self.world, peak)
                self.events.emit(
                    "train",
                    iter=self.iter,
                    loss=loss,
                    lr=self.lr,
                    dt_ms=dt * 1000,
                    tokens_per_s=tps,
                    mfu=util,
                )
                if self.master:
                    mfu_text = f"{util * 100:.1f}%" if util is not None else "n/a"
                    log(
                        f"iter {self.iter}/{t['max_iters']} | loss {loss:.4f} | lr {self.lr:.2e} | "
                        f"{dt * 1000:.1f} ms | {tps:,.0f} tok/s | mfu {mfu_text}"
                    )
                if self.wandb:
                    self.wandb.log({"iter": self.iter, "train/loss": loss, "lr": self.lr, "mfu": util})
            if stop:
                self.save("stopped")
                return "stopped"
            if self.iter % t["eval_interval"] == 0 or self.iter == t["max_iters"]:
                losses = self.evaluate()
                self.last_val = losses["val"]
                self.events.emit("eval", iter=self.iter, train_loss=losses["train"], val_loss=losses["val"])
                if self.master:
                    log(f"eval {self.iter}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
                if self.wandb:
                    self.wandb.log(
                        {"iter": self.iter, "train/eval_loss": losses["train"], "val/loss": losses["val"]}
                    )
                improved = losses["val"] < self.best_val
                if improved:
                    self.best_val = losses["val"]
                if improved or t["always_save_checkpoint"]:
                    self.save("eval")
                if self.master and t["sample_tokens"] > 0:
                    self.events.emit("sample", iter=self.iter, tokens=self.sample())
        return "finished"


def export_after(run_dir: RunDir) -> None:
    """Exports the completion model; a failure is a warning, never a failed run."""
    if os.environ.get("WORDPLAY_SKIP_EXPORT"):
        return
    try:
        from .export import export_run

        path = export_run(run_dir.root)
        log(f"wordplay: exported {path}")
    except ImportError as e:
        log(f"wordplay: warning: export skipped ({e})")
    except Exception as e:  # noqa: BLE001 - the run succeeded; export is a bonus here
        log(f"wordplay: warning: export failed ({type(e).__name__}: {e}); run `wordplay export` to retry")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m wordplay_trainer train", description="Train a GPT.")
    p.add_argument("--config", required=True, help="a config file or a preset name")
    p.add_argument("--run-dir", help="the run folder (default: runs/<timestamp>-<config name>)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="GROUP.KEY=VALUE")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    rank = int(os.environ.get("RANK", 0))
    if args.run_dir:
        root = Path(args.run_dir).resolve()
    elif int(os.environ.get("WORLD_SIZE", 1)) > 1:
        log("wordplay: --run-dir is required with several processes (they must share one run dir)")
        return 2
    else:
        root = default_run_dir(config_name(args.config))
    run_dir = RunDir(root)
    events = EventWriter(run_dir.events, enabled=rank == 0)
    watch = os.environ.get("WORDPLAY_STOP_WITH_PID", "")
    grace = os.environ.get("WORDPLAY_STOP_GRACE_S", "")
    stop = StopFlag(
        int(watch) if watch.isdigit() else None,
        run_dir.watcher,
        float(grace) if grace.replace(".", "", 1).isdigit() else 15.0,
    )
    stop.install()
    trainer: Trainer | None = None
    try:
        cfg = load_config(args.config, args.overrides)
        if rank == 0:
            write_json_atomic(run_dir.config, cfg)
        trainer = Trainer(cfg, run_dir, events, stop)
        trainer.setup()
        reason = trainer.run()
        if trainer.ddp:
            import torch.distributed as dist

            # every rank past its last collective before any leaves: a rank that closes its
            # gloo connections while a peer still reads from them aborts that peer
            dist.barrier()
            dist.destroy_process_group()
        if rank == 0:
            export_after(run_dir)
        events.emit("done", reason=reason, iter=trainer.iter)
        if rank == 0:
            log(f"wordplay: {reason} at iteration {trainer.iter}; run dir {run_dir.root}")
        return 0
    except TrainerError as e:
        return fail(events, e.message, e.key, trainer)
    except torch.OutOfMemoryError:
        t = trainer.cfg["train"] if trainer else {}
        block = trainer.cfg["model"]["block_size"] if trainer else "?"
        message = (
            f"out of GPU memory with train.batch_size {t.get('batch_size')} and model.block_size {block}; "
            "lower train.batch_size (raising train.gradient_accumulation_steps keeps the tokens per "
            "iteration) or model.block_size, or use a smaller model"
        )
        return fail(events, message, "train.batch_size", trainer)
    except Exception as e:  # noqa: BLE001 - every failure becomes an error event first
        traceback.print_exc()
        if trainer is not None and trainer.ddp and peer_failure(e):
            message = (
                f"another process of this {trainer.world}-process run ended (killed, out of memory, or "
                "an error of its own: torchrun's output names it), so this one stopped too "
                f"({str(e).splitlines()[0]}); continue from the last checkpoint with train.init_from=resume"
            )
            return fail(events, message, None, trainer)
        return fail(
            events, f"unexpected {type(e).__name__}: {e} (a bug in wordplay: please report it)", None, trainer
        )
    finally:
        stop.restore()
        events.close()
        if trainer is not None and trainer.ddp:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()


def peer_failure(e: Exception) -> bool:
    """Whether a collective failed because a peer process went away (gloo and NCCL report it as
    a RuntimeError naming the lost connection)."""
    import torch.distributed as dist

    lost = re.search(r"gloo|nccl|connection|peer", str(e), re.IGNORECASE) is not None
    return isinstance(e, dist.DistError) or (isinstance(e, RuntimeError) and lost)


def fail(events: EventWriter, message: str, key: str | None, trainer: Trainer | None) -> int:
    fields: dict = {"message": message}
    if key:
        fields["key"] = key
    if trainer is not None:
        fields["iter"] = trainer.iter
    events.emit("error", **fields)
    events.emit("done", reason="error", **({"iter": trainer.iter} if trainer else {}))
    log(f"wordplay: error: {message}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
