"""The training loop, after nanoGPT's train.py.

An iteration: set the learning rate (linear warmup, then cosine decay to min_lr); run
gradient_accumulation_steps micro-batches forward and backward under autocast (bf16, or fp16
with a GradScaler), each process taking its share, DDP (or FSDP) syncing gradients on the last
micro-step only; agree on the mean loss and on stopping through one all-reduce; clip the
gradients; step AdamW (fused, weight decay on matrices and embeddings only). Under
DeepSpeed its engine accumulates, clips and steps the same AdamW (sharded.py). Every log_interval a
`train` event (loss, learning rate, tokens/s, MFU); every eval_interval the mean train and val
loss over eval_iters fixed batches, a checkpoint when val loss improved (or always), a sample,
with train.keep_exports the model handed to the caller's keep_model (the train command keeps
it as a completion model in exports/); the first eval at or below train.target_val_loss ends
the loop, checkpointed, as the end does.
With train.time_budget_s the run ends when that time is spent, as at max_iters (budget.py).
A stop request (SIGINT, SIGTERM or the watcher gone: stop.py) ends the loop after its step with
a checkpoint; a loss that is no longer finite ends it with an error naming the learning rate.

Events go to the run dir's events.jsonl (rank 0 alone writes), a readable line per log interval
to stderr. Around the loop: the machine (device, dtype, processes: common/compute.py; MFU:
common/mfu.py), the model it starts from (scratch, resume, GPT-2: init_from.py), its optimizer
(optimizer.py), the command line (commands/train.py), which also exports the model after it.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable

import torch
import torch.distributed as dist

from ..common.compute import Compute, compile_model, compile_rule, compute_init, cpu_run_seconds
from ..common.errors import TrainerError
from ..common.log import log
from ..common.mfu import device_peak, mfu, model_flops_per_token
from ..prepare.dataset import Batches, Dataset
from ..run.events import EventWriter
from ..run.rundir import RunDir
from . import checkpoint as ckpt
from . import lora, sharded
from .budget import Budget, compiling_message, run_budget
from .evaluate import mean_losses, sample
from .init_from import check_resume, initial_model, restore_progress, restore_rng
from .model import GPT
from .optimizer import learning_rate, make_optimizer
from .run_config import RunConfig
from .scalars import Scalars
from .stop import StopFlag


class NonFiniteLoss(Exception):
    pass


def run_compute(cfg: RunConfig) -> Compute:
    """This process's machine for a run's config (common/compute.py)."""
    t, d = cfg.train, cfg.distributed
    processes = d.nproc_per_node * d.nnodes
    return compute_init(
        device=t.device,
        dtype=t.dtype,
        seed=t.seed,
        accumulation=t.gradient_accumulation_steps,
        processes=processes,
        sharded=d.backend != "ddp",
    )


# what becomes of an evaluation's model with train.keep_exports: keep_model(model, tokenizer,
# state), called on rank 0 with a float32 copy on the CPU and the iteration and losses
KeepModel = Callable[[GPT, dict, dict], None]


class Trainer:
    """One run: setup() builds the machine, data, model and optimizer from the config; run()
    trains. Both read the config through self.cfg, a typed RunConfig."""

    def __init__(
        self,
        cfg: RunConfig,
        run_dir: RunDir,
        events: EventWriter,
        stop: StopFlag,
        keep_model: KeepModel | None = None,
    ):
        self.cfg = cfg
        self.run_dir = run_dir
        self.events = events
        self.stop = stop
        self.keep_model = keep_model
        self.iter = 0
        self.engine = None  # DeepSpeed's, which steps in place of the loop's optimizer
        self.sharding: sharded.Fsdp | sharded.DeepSpeed | None = None  # full states of a sharded run
        self.scalars: Scalars | None = None  # rank 0's copies for wandb and TensorBoard
        self.target_reached = False  # an eval's val loss reached train.target_val_loss
        self.budget: Budget | None = None  # train.time_budget_s on the clock, set by run()

    # -- the loop

    def run(self) -> str:
        """Trains from self.iter to train.max_iters or train.time_budget_s's end, or to the first eval at
        train.target_val_loss (with self.target_reached); returns why it ended: finished or stopped."""
        t, c = self.cfg.train, self.model.config
        tokens_per_iter = t.batch_size * t.gradient_accumulation_steps * c.block_size
        self.budget = run_budget(self.cfg, self.t0, self.iter, self.n_params_total, self.compute.master)
        end_iter = self.budget.end_iter if self.budget else t.max_iters
        self._announce(tokens_per_iter, end_iter)
        if self.budget:
            self.target_reached = self._evaluate_and_save()
        self.model.train()
        while self.iter < end_iter and not self.target_reached:
            t0 = time.perf_counter()
            try:
                loss, stop = self.train_step()
            except NonFiniteLoss as e:
                lr = self.cfg.optimizer.learning_rate
                raise TrainerError(
                    f"the loss became {e.args[0]} at iteration {self.iter}: training diverged. Lower "
                    f"optimizer.learning_rate (now {lr:g}, try {lr / 3:.2g}) or lengthen "
                    "optimizer.warmup_iters; the last checkpoint was left untouched",
                    "optimizer.learning_rate",
                ) from None
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            dt = time.perf_counter() - t0
            self.iter += 1
            if self.iter % t.log_interval == 0 or self.iter == end_iter:
                tps = tokens_per_iter / dt
                util = mfu(self.flops_token, tps / self.compute.world, self.peak)
                self.events.emit(
                    "train",
                    iter=self.iter,
                    loss=loss,
                    lr=self.lr,
                    dt_ms=dt * 1000,
                    tokens_per_s=tps,
                    mfu=util,
                    elapsed_s=round(time.perf_counter() - self.t0, 3),
                )
                if self.compute.master:
                    mfu_text = f"{util * 100:.1f}%" if util is not None else "n/a"
                    log(
                        f"iter {self.iter}/{end_iter} | loss {loss:.4f} | lr {self.lr:.2e} | "
                        f"{dt * 1000:.1f} ms | {tps:,.0f} tok/s | mfu {mfu_text}"
                    )
                if self.scalars:
                    self.scalars.log(self.iter, {"train/loss": loss, "lr": self.lr, "mfu": util})
            if stop:
                self.save("stopped")
                return "stopped"
            spent = self.budget is not None and self.budget.spent()
            if self.iter % t.eval_interval == 0 or self.iter == end_iter or spent:
                self.target_reached = self._evaluate_and_save()
                if self.target_reached or spent:
                    break
        return "finished"

    def train_step(self) -> tuple[float, bool]:
        """One optimizer step over all micro-batches: (mean loss over every process, stop?)."""
        budget, t, opt = self.budget, self.cfg.train, self.cfg.optimizer
        lr = budget.learning_rate(self.iter, opt) if budget else learning_rate(self.iter, opt, t.max_iters)
        for group in self.optimizer.param_groups:
            group["lr"] = group["peak_lr"] * lr / opt.learning_rate  # Muon's too, in proportion
        world = self.compute.world
        micro = t.gradient_accumulation_steps // world
        loss_sum = torch.zeros((), device=self.device)
        for m, (x, y) in enumerate(
            self.train_batches.step(t.gradient_accumulation_steps, world, self.compute.rank)
        ):
            if self.engine is not None:  # DeepSpeed accumulates, clips and steps by itself
                with self.autocast:
                    _, loss = self.engine(x, y)
                self.engine.backward(loss)
                self.engine.step()
                loss_sum += loss.detach() / micro
                continue
            last = m == micro - 1  # gradients are averaged over the processes once, at the end
            if self.cfg.distributed.backend == "fsdp":
                self.model.set_requires_gradient_sync(last)
            elif self.compute.ddp:
                self.step_model.require_backward_grad_sync = last
            with self.autocast:
                _, loss = self.step_model(x, y)
                loss = loss / micro
            self.scaler.scale(loss).backward()
            loss_sum += loss.detach()
        mean_loss, stop = self._sync(loss_sum)
        if not math.isfinite(mean_loss):
            raise NonFiniteLoss(mean_loss)
        if self.engine is None:
            if opt.grad_clip > 0:
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), opt.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.optimizer.zero_grad(set_to_none=True)
        self.lr = lr
        return mean_loss, stop

    def _sync(self, loss_sum: torch.Tensor) -> tuple[float, bool]:
        """Mean loss over the processes, whether any was asked to stop; a budget's clock agreed on."""
        local = [float(self.stop.set), *(self.budget.local() if self.budget else [])]
        flags = torch.cat([loss_sum.float().reshape(1), torch.tensor(local, device=loss_sum.device)])
        if self.compute.ddp:
            dist.all_reduce(flags)
            flags[0] /= self.compute.world
            flags[2:] /= self.compute.world
        values = flags.tolist()
        if self.budget:
            self.budget.agree(self.iter, *values[2:])
        return values[0], values[1] > 0

    def _evaluate_and_save(self) -> bool:
        """Evaluates, checkpoints and samples; returns whether val loss reached train.target_val_loss.
        Timed for a budget's reserve."""
        started = time.perf_counter()
        losses = mean_losses(
            self.model, self.compiled, self.dataset, self.cfg.train, self.device, self.autocast
        )
        self.last_val = losses["val"]
        # bits per byte: comparable across tokenizers; left out when meta.json lacks the byte counts
        bpb = self.dataset.val_bits_per_byte(losses["val"])
        extra = {} if bpb is None else {"val_bpb": bpb}
        self.events.emit("eval", iter=self.iter, train_loss=losses["train"], val_loss=losses["val"], **extra)
        if self.compute.master:
            bpb_text = "" if bpb is None else f", {bpb:.4f} bits per byte"
            log(f"eval {self.iter}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}{bpb_text}")
        if self.scalars:
            self.scalars.log(
                self.iter, {"train/eval_loss": losses["train"], "val/loss": losses["val"], "val/bpb": bpb}
            )
        improved = losses["val"] < self.best_val
        if improved:
            self.best_val = losses["val"]
        # every process evaluates the same batches with the same weights, so all agree on this
        # (as on `improved`) and leave the loop together
        target = self.cfg.train.target_val_loss
        reached = target is not None and losses["val"] <= target
        if improved or reached or self.cfg.train.always_save_checkpoint:
            self.save("eval")
        if self.cfg.train.keep_exports > 0 and self.keep_model is not None:
            self.keep()
        # rank 0 samples; under fsdp or deepspeed every process does, in step, since a sharded
        # model's layers need them all to gather (the same number of tokens whatever they are)
        if self.cfg.train.sample_tokens > 0 and (self.compute.master or self.sharding is not None):
            seed, n = self.cfg.train.seed + self.iter, self.cfg.train.sample_tokens
            tokens = sample(self.model, self.dataset.tokenizer, n, seed, self.device, self.autocast)
            self.events.emit("sample", iter=self.iter, tokens=tokens)
        if self.budget:
            self.budget.evaluated(time.perf_counter() - started)
        return reached

    def save(self, reason: str) -> None:
        """All processes call this (RNG states, and a sharded run's full state, are gathered);
        rank 0 writes."""
        rng = ckpt.rng_state(self.train_batches.generator)
        if self.compute.ddp:
            rngs: list = [None] * self.compute.world
            dist.all_gather_object(rngs, rng)
        else:
            rngs = [rng]
        if self.sharding is not None:
            weights, optimizer_state = self.sharding.full_state()
        else:
            weights, optimizer_state = self.model.state_dict(), self.optimizer.state_dict()
        if not self.compute.master:
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
        if self.lora is not None:  # the adapters alone, and the base they go on
            weights, state["lora"] = lora.adapter_state(weights), self.lora
        extra = {"scaler": self.scaler.state_dict()} if self.scaler.is_enabled() else {}
        ckpt.save_full_state(self.run_dir, self.model.config, weights, optimizer_state, state, extra)
        self.events.emit("checkpoint", iter=self.iter, val_loss=self.last_val)

    def keep(self) -> None:
        """This evaluation's model to keep_model (train.keep_exports). All processes call this (a
        sharded model's weights are gathered); rank 0 hands over a float32 copy on the CPU."""
        if self.sharding is not None:
            weights = self.sharding.full_state()[0]
        else:
            weights = lora.merged_state(self.model)  # a LoRA model's with its adapters merged in
        if not self.compute.master:
            return
        model = GPT(self.model.config)
        model.load_state_dict({k: v.detach().to("cpu", torch.float32) for k, v in weights.items()})
        state = {
            "iteration": self.iter,
            "val_loss": self.last_val,
            "best_val_loss": None if math.isinf(self.best_val) else self.best_val,
        }
        self.keep_model(model, self.dataset.tokenizer, state)

    def _announce(self, tokens_per_iter: int, end_iter: int) -> None:
        """The start event, and its line for people."""
        t, world = self.cfg.train, self.compute.world
        device_name = str(self.device)
        if self.device.type == "cuda":
            device_name += f" ({torch.cuda.get_device_name(self.device)})"
        self.events.emit(
            "start",
            iter=self.iter,
            max_iters=end_iter,
            pid=os.getpid(),
            device=device_name,
            dtype=self.compute.dtype,
            n_params=self.n_params,
            n_params_total=self.n_params_total,
            tokens_per_iter=tokens_per_iter,
            world_size=world,
            torch=torch.__version__,
            threads=torch.get_num_threads(),
            peak_flops=self.peak,
            peak_source=self.peak_source,
            init_from=t.init_from,
            run_dir=str(self.run_dir.root),
            **({} if t.target_val_loss is None else {"target_val_loss": t.target_val_loss}),
            **({} if t.time_budget_s is None else {"time_budget_s": t.time_budget_s}),
        )
        if self.compute.master:
            within = "" if t.time_budget_s is None else f" within {t.time_budget_s:g} s"
            log(
                f"wordplay: training {lora.describe(self.model)} on {device_name} "
                f"({self.compute.dtype}), {world} process(es), {tokens_per_iter:,} tokens per iteration, "
                f"iterations {self.iter} -> {end_iter}{within}; run dir {self.run_dir.root}"
            )

    # -- set-up: the machine, the data, the model and its optimizer, before the loop

    def setup(self) -> None:
        self.t0 = time.perf_counter()  # the budget's clock (train.time_budget_s) starts here
        cfg, t = self.cfg, self.cfg.train
        self.compute: Compute = run_compute(cfg)
        self.device = self.compute.device
        self.autocast = self.compute.autocast
        self.dataset = Dataset(cfg.data.dataset)
        self.model, self.resume_state, self.resume_folder = initial_model(
            cfg, self.dataset, self.run_dir, self.compute.master
        )
        self.dataset.check_block_size(self.model.config.block_size)
        self.lora = lora.run_record(t, self.resume_state, self.compute.master)  # state.json's "lora"
        self.model.to(self.device)
        # counted whole, before ZeRO-3 leaves each process an empty tensor per parameter
        self.n_params = self.model.num_params()
        self.n_params_total = self.model.num_params(non_embedding=False)
        torch.manual_seed(t.seed + self.compute.rank)  # dropout differs per process

        block = self.model.config.block_size
        self.train_batches = Batches(self.dataset, "train", block, t.batch_size, self.device, t.seed)
        backend = cfg.distributed.backend
        if backend == "fsdp":
            sharded.fsdp_wrap(self.model, self.compute)  # before the optimizer, which takes the shards
        self.optimizer = make_optimizer(self.model, cfg.optimizer, self.device)
        if backend == "fsdp":
            self.sharding = sharded.Fsdp(self.model, self.optimizer)
        elif backend == "deepspeed":
            self.sharding = sharded.DeepSpeed(self.model, self.optimizer, cfg, self.compute)
            self.engine, self.optimizer = self.sharding.engine, self.sharding.optimizer
        # DeepSpeed scales a float16 loss itself
        self.scaler = torch.amp.GradScaler(
            "cuda", enabled=self.compute.dtype == "float16" and self.engine is None
        )
        self.best_val = math.inf
        self.last_val: float | None = None
        if self.resume_state is not None:  # its optimizer, scaler, progress and RNG states too
            self.iter, self.best_val, self.last_val = restore_progress(
                self.resume_state, self.resume_folder, self.optimizer, self.sharding, self.scaler
            )
            restore_rng(self.resume_state, self.compute.rank, self.train_batches.generator)
            check_resume(self.iter, t)

        self.peak, self.peak_source = device_peak(self.device, self.compute.dtype)  # a CPU's measured
        c, self.compiled = self.model.config, self.model
        self.flops_token = model_flops_per_token(self.model, self.n_params, block)
        iters = t.max_iters - (0 if t.time_budget_s else self.iter)  # a budget's count from here (budget.py)
        flops = self.flops_token * t.batch_size * t.gradient_accumulation_steps * block * iters
        run_s = cpu_run_seconds(flops / self.compute.world, self.peak, t.time_budget_s)  # compile auto's
        if compile_rule(t.compile, self.device.type, run_s, c.n_embd, c.dropout):
            if self.engine is not None:
                log("wordplay: train.compile is not applied under distributed.backend deepspeed")
            else:
                log(compiling_message(t.time_budget_s, self.device.type))
                self.compiled = compile_model(self.model, self.device)
        self.step_model = self.compiled if self.engine is None else self.engine
        if backend == "ddp" and self.compute.ddp:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.step_model = DDP(self.compiled, device_ids=ids)
        if self.compute.master:
            self.scalars = Scalars(cfg, self.run_dir)
