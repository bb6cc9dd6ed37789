"""The model a run starts from, as train.init_from names it: scratch, a new model of the
config's shape and architecture; resume, the run folder's checkpoint (its weights here, its
optimizer and progress restored by the loop); gpt2* or a folder, GPT-2's weights
(gpt2_weights.py)."""

from __future__ import annotations

from pathlib import Path

from ..common.errors import TrainerError
from ..common.log import log
from ..prepare.dataset import Dataset
from ..run.rundir import RunDir
from . import checkpoint as ckpt
from .gpt2_weights import gpt2_model
from .model import GPT, GPTConfig
from .run_config import ModelConfig, RunConfig


def new_model(m: ModelConfig, vocab_size: int) -> GPT:
    """A freshly initialised model of the config's shape and architecture options."""
    args = {k: getattr(m, k) for k in ckpt.MODEL_ARGS if k != "vocab_size"}
    return GPT(GPTConfig(vocab_size=vocab_size, zero_init=m.zero_init, **args))


def initial_model(
    cfg: RunConfig, dataset: Dataset, run_dir: RunDir, master: bool
) -> tuple[GPT, dict | None, Path | None]:
    """The model train.init_from names; for resume also the checkpoint's state and folder."""
    m, init = cfg.model, cfg.train.init_from
    if init == "scratch":
        return new_model(m, dataset.vocab_size), None, None
    if init != "resume":
        return gpt2_model(init, dataset, m), None, None
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
    config = ckpt.config_from_args(state["model_args"])
    config.dropout = m.dropout
    kept = [k for k in ckpt.MODEL_ARGS if k != "vocab_size" and getattr(config, k) != getattr(m, k)]
    if kept and master:
        log(f"wordplay: resuming keeps the checkpoint's model ({', '.join(kept)} ignored)")
    model = GPT(config)
    ckpt.load_weights(model, folder)
    return model, state, folder
