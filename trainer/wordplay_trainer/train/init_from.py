"""The model a run starts from, as train.init_from names it: scratch, a new model of the
config's shape and architecture; resume, the run folder's checkpoint (its weights here, its
optimizer, progress and RNG states restored once the loop has built its optimizer:
restore_progress); gpt2*, a Hugging Face folder or a hub name, the pretrained weights
(hf_weights.py). With train.lora a pretrained model is frozen under adapters, and a LoRA
checkpoint resumes as its base rebuilt plus its adapters (lora.py)."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from ..common.errors import ConfigError, TrainerError
from ..common.log import log
from ..prepare.dataset import Dataset
from ..run.rundir import RunDir
from . import checkpoint as ckpt
from . import lora
from .config import lora_problems
from .hf_weights import pretrained_model
from .model import GPT, GPTConfig
from .run_config import LoraConfig, ModelConfig, RunConfig, TrainConfig


def model_config(m: ModelConfig, vocab_size: int) -> GPTConfig:
    """The config's shape and architecture options (a null key resolved by GPTConfig's rule)."""
    args = {k: getattr(m, k) for k in ckpt.MODEL_ARGS if k != "vocab_size"}
    return GPTConfig(vocab_size=vocab_size, zero_init=m.zero_init, **args)


def new_model(m: ModelConfig, vocab_size: int) -> GPT:
    """A freshly initialised model of the config's shape and architecture options."""
    return GPT(model_config(m, vocab_size))


def with_lora(model: GPT, settings: LoraConfig) -> GPT:
    """The pretrained model, frozen under train.lora's adapters when it has a rank (lora.py)."""
    if settings.rank is not None:
        lora.apply(model, settings)
    return model


def initial_model(
    cfg: RunConfig, dataset: Dataset, run_dir: RunDir, master: bool
) -> tuple[GPT, dict | None, Path | None]:
    """The model train.init_from names; for resume also the checkpoint's state and folder."""
    m, init = cfg.model, cfg.train.init_from
    if init == "scratch":
        return new_model(m, dataset.vocab_size), None, None
    if init != "resume":
        return with_lora(pretrained_model(init, dataset, m), cfg.train.lora), None, None
    folder = ckpt.checkpoint_dir(run_dir)
    state = ckpt.read_state(folder)
    if state.get("tokenizer") != dataset.tokenizer:
        raise TrainerError(
            f"the dataset {dataset.path} has a different vocabulary ({dataset.vocab_size} "
            f"tokens, {dataset.tokenizer.get('type')}) from the checkpoint being resumed "
            f"({state['model_args']['vocab_size']} tokens); set data.dataset to the dataset this run "
            "was trained on, or train a new run with train.init_from=scratch",
            "data.dataset",
        )
    if "lora" in state:
        # what the config could not check: it may not name the LoRA it resumes
        problems = lora_problems("resume", cfg.optimizer.name, cfg.distributed.backend)
        if problems:
            raise ConfigError(problems)
        if master and lora.settings(state["lora"]) != cfg.train.lora:
            log("wordplay: resuming keeps the checkpoint's LoRA settings (train.lora ignored)")
        return lora.load_checkpoint(folder, state, m.dropout, "train.init_from"), state, folder
    if cfg.train.lora.rank is not None:
        raise TrainerError(
            "the checkpoint being resumed trained every weight, so it has no LoRA adapters to resume; "
            "set train.lora.rank to null to resume it",
            "train.lora.rank",
        )
    config = ckpt.config_from_args(state["model_args"])
    config.dropout = m.dropout
    mine = model_config(m, config.vocab_size)  # null keys as their rule resolves them, not "differing"
    kept = [k for k in ckpt.MODEL_ARGS if k != "vocab_size" and getattr(config, k) != getattr(mine, k)]
    if kept and master:
        log(f"wordplay: resuming keeps the checkpoint's model ({', '.join(kept)} ignored)")
    model = GPT(config)
    ckpt.load_weights(model, folder)
    return model, state, folder


def restore_progress(
    state: dict, folder: Path, optimizer: torch.optim.Optimizer, sharding, scaler: torch.amp.GradScaler
) -> tuple[int, float, float | None]:
    """The optimizer's (through a sharded run's `sharding`, sharded.py) and the scaler's states of
    the checkpoint resumed; returns its iteration, best val loss and latest val loss."""
    load = optimizer.load_state_dict if sharding is None else sharding.load_optimizer_state
    meta = ckpt.load_optimizer(optimizer, folder, load)
    if meta.get("scaler") and scaler.is_enabled():
        scaler.load_state_dict(meta["scaler"])
    best = state.get("best_val_loss")
    return int(state["iteration"]), math.inf if best is None else float(best), state.get("val_loss")


def restore_rng(state: dict, rank: int, generator: torch.Generator) -> None:
    """This process's RNG states in the checkpoint (rank 0's for a process it did not have)."""
    rngs = state.get("rng") or []
    if rngs:
        ckpt.set_rng_state(rngs[rank] if rank < len(rngs) else rngs[0], generator)


def check_resume(iteration: int, t: TrainConfig) -> None:
    """A run resumed at or past train.max_iters has nothing left to train, unless it has a time
    budget: a budgeted run counts its iterations from where it resumes."""
    if iteration >= t.max_iters and t.time_budget_s is None:
        raise TrainerError(
            f"train.max_iters {t.max_iters} is not beyond the checkpoint's iteration {iteration}; "
            "raise train.max_iters to continue training, or give the run a time budget "
            "(train.time_budget_s)",
            "train.max_iters",
        )
