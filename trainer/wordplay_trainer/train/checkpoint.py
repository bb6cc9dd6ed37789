"""checkpoint/: weights, optimizer state and state.json, never pickle, replaced atomically.

Layout of checkpoint/:
- model.safetensors: the weights (a head tied to the embedding stored once, as lm_head.weight);
- optimizer.safetensors + optimizer.json: the optimizer's tensors, and its structure and scalars;
- state.json: iteration, best and last val loss, model_args, the dataset's tokenizer, RNG states.
A LoRA run's model.safetensors holds its adapters alone, and state.json's "lora" names the base
they go on (lora.py).
Both weights and optimizer state are whole whatever wrote them: one process, DDP, or a sharded
backend (sharded.py gathers the shards first), so any backend and process count resumes them.

Saving writes everything into checkpoint.tmp-<pid>/, fsyncs the files and the folder, then
renames checkpoint/ to checkpoint.old-<pid>/ and the new folder to checkpoint/: a crash at any
instant leaves either the new or the previous checkpoint complete (the loader falls back to a
checkpoint.old-* folder when checkpoint/ is missing).
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from safetensors.torch import load_model as st_load_model

from ..common.errors import TrainerError
from ..common.files import fsync_dir, fsync_file
from ..run.rundir import OPTIMIZER_FILE, OPTIMIZER_JSON, STATE_FILE, WEIGHTS_FILE, RunDir
from . import lora
from .model import GPT, GPTConfig

# What state.json's model_args hold: the shape every checkpoint has, then the shape and
# architecture options added since (a checkpoint written before one existed lacks it, and has
# GPTConfig's default for it, today's meaning: GPT-2's parts, or the rule n_kv_head = n_head ...).
SHAPE_ARGS = ("vocab_size", "block_size", "n_layer", "n_head", "n_embd", "dropout", "bias")
OPTION_ARGS = (
    "position",
    "norm",
    "qk_norm",
    "mlp",
    "tie_embeddings",
    "n_kv_head",
    "head_dim",
    "mlp_hidden",
    "rope_base",
    "norm_eps",
    "attn_bias",
    "skip_connections",
)
MODEL_ARGS = (*SHAPE_ARGS, *OPTION_ARGS)


def model_args(config: GPTConfig) -> dict:
    return {k: getattr(config, k) for k in MODEL_ARGS}


def config_from_args(args: dict) -> GPTConfig:
    """state.json's model_args as a GPTConfig (KeyError or TypeError when malformed)."""
    return GPTConfig(**{k: args[k] for k in SHAPE_ARGS}, **{k: args[k] for k in OPTION_ARGS if k in args})


# ---- RNG states, as JSON ---------------------------------------------------------------


def _b64(t: torch.Tensor) -> str:
    return base64.b64encode(t.cpu().numpy().tobytes()).decode("ascii")


def _unb64(s: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.uint8).clone()


def rng_state(data_generator: torch.Generator | None = None) -> dict:
    version, internal, gauss = random.getstate()
    np_state = np.random.get_state()
    state = {
        "python": [version, list(internal), gauss],
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "torch": _b64(torch.get_rng_state()),
        "cuda": [_b64(s) for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() else [],
    }
    if data_generator is not None:
        state["data"] = _b64(data_generator.get_state())
    return state


def set_rng_state(state: dict, data_generator: torch.Generator | None = None) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(_unb64(state["torch"]))
    if state.get("cuda") and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([_unb64(s) for s in state["cuda"]])
    if data_generator is not None and "data" in state:
        data_generator.set_state(_unb64(state["data"]))


# ---- optimizer state without pickle ------------------------------------------------------


def _split_optimizer(sd: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict] = {}
    for idx, entry in sd["state"].items():
        scalars[str(idx)] = {}
        for name, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{idx}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars[str(idx)][name] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _join_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {int(i): dict(v) for i, v in meta["scalars"].items()}
    for key, value in tensors.items():
        idx, _, name = key.partition(".")
        state.setdefault(int(idx), {})[name] = value
    groups = [dict(g) for g in meta["param_groups"]]
    for g in groups:
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
    return {"state": state, "param_groups": groups}


# ---- saving ----------------------------------------------------------------------------


TIED = ("lm_head.weight", "transformer.wte.weight")  # the name kept, the name dropped


def _save_weights(weights: dict[str, torch.Tensor], config: GPTConfig, file: Path) -> None:
    """The weights, a tied head once (under the name safetensors' save_model would keep)."""
    weights = dict(weights)
    metadata = None
    if config.tie_embeddings:
        kept, dropped = TIED
        head = weights.pop(dropped, None)  # a state dict names the tied tensor twice, parameters once
        if head is not None:
            weights.setdefault(kept, head)
        metadata = {dropped: kept}
    save_file({k: v.contiguous() for k, v in weights.items()}, str(file), metadata=metadata)


def _write_folder(
    tmp: Path,
    config: GPTConfig,
    weights: dict[str, torch.Tensor],
    optimizer_state: dict | None,
    state: dict,
    extra: dict | None,
) -> None:
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    _save_weights(weights, config, tmp / WEIGHTS_FILE)
    if optimizer_state is not None:
        tensors, meta = _split_optimizer(optimizer_state)
        meta.update(extra or {})
        save_file(tensors, str(tmp / OPTIMIZER_FILE))
        (tmp / OPTIMIZER_JSON).write_text(json.dumps(meta), encoding="utf-8")
    state = {**state, "model_args": model_args(config)}
    (tmp / STATE_FILE).write_text(json.dumps(state, indent=1), encoding="utf-8")
    for f in tmp.iterdir():
        fsync_file(f)
    fsync_dir(tmp)


def save_checkpoint(
    run_dir: RunDir,
    model: GPT,
    optimizer: torch.optim.Optimizer | None,
    state: dict,
    extra_optimizer_json: dict | None = None,
) -> Path:
    """The checkpoint of a model and optimizer this process holds whole."""
    optimizer_state = None if optimizer is None else optimizer.state_dict()
    return save_full_state(
        run_dir, model.config, model.state_dict(), optimizer_state, state, extra_optimizer_json
    )


def save_full_state(
    run_dir: RunDir,
    config: GPTConfig,
    weights: dict[str, torch.Tensor],
    optimizer_state: dict | None,
    state: dict,
    extra_optimizer_json: dict | None = None,
) -> Path:
    """Writes the checkpoint beside, then swaps it in: the full weights (a state dict), the full
    optimizer state (as optimizer.state_dict() has it), `state` as state.json. A write that
    fails (a full disk) removes its partial folder, so the space is free for the error event,
    and raises a TrainerError: the previous checkpoint is untouched."""
    pid = os.getpid()
    tmp = run_dir.checkpoint_tmp(pid)
    try:
        _write_folder(tmp, config, weights, optimizer_state, state, extra_optimizer_json)
    except (OSError, SafetensorError) as e:  # safetensors reports its I/O errors as its own
        shutil.rmtree(tmp, ignore_errors=True)
        raise TrainerError(
            f"could not write a checkpoint into {run_dir.root} ({e}); the previous checkpoint was "
            "kept. If the disk is full, free some space (or choose a run dir with room), then "
            "continue with train.init_from=resume",
            str(run_dir.checkpoint),
        ) from None
    final = run_dir.checkpoint
    old = run_dir.checkpoint_old(pid)
    if final.exists():
        if old.exists():
            shutil.rmtree(old)
        os.rename(final, old)
    os.rename(tmp, final)
    fsync_dir(run_dir.root)
    if old.exists():
        shutil.rmtree(old)
    for stale in [*run_dir.previous_checkpoints(), *run_dir.root.glob("checkpoint.tmp-*")]:
        shutil.rmtree(stale, ignore_errors=True)
    return final


# ---- loading ---------------------------------------------------------------------------


def checkpoint_dir(run_dir: RunDir) -> Path:
    """checkpoint/, or the previous complete one when a swap was interrupted."""
    if run_dir.checkpoint.is_dir():
        return run_dir.checkpoint
    previous = run_dir.previous_checkpoints()
    if previous:
        return previous[0]
    raise TrainerError(
        f"{run_dir.root} has no checkpoint/ to resume from; train it first (train.init_from=scratch) "
        "or point --run-dir at a run that saved a checkpoint",
        str(run_dir.checkpoint),
    )


def _corrupt(file: Path, why: str) -> TrainerError:
    return TrainerError(
        f"{file} is truncated or corrupt ({why}); it was left untouched. Restore it, or start "
        "a new run (train.init_from=scratch) in another run dir",
        str(file),
    )


def read_state(folder: Path) -> dict:
    file = folder / STATE_FILE
    try:
        state = json.loads(file.read_text(encoding="utf-8"))
        config_from_args(state["model_args"])
    except FileNotFoundError:
        raise _corrupt(file, "missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as e:
        raise _corrupt(file, f"{type(e).__name__}: {e}") from None
    return state


def load_weights(model: GPT, folder: Path, device: str | torch.device = "cpu") -> None:
    file = folder / WEIGHTS_FILE
    try:
        missing, unexpected = st_load_model(model, str(file), strict=False, device=str(device))
    except FileNotFoundError:
        raise _corrupt(file, "missing") from None
    except (SafetensorError, RuntimeError, OSError, ValueError) as e:
        raise _corrupt(file, str(e).splitlines()[0]) from None
    # a head tied to the embedding is one tensor, so one of the two names is not in the file
    if model.config.tie_embeddings:
        missing = [k for k in missing if k not in TIED]
    if missing or unexpected:
        raise _corrupt(file, f"missing {missing[:3]}, unexpected {unexpected[:3]}")


def _read_optimizer(optimizer: torch.optim.Optimizer, folder: Path) -> tuple[dict, dict]:
    """The saved optimizer state, as `optimizer.load_state_dict` takes it, checked against the
    optimizer it is for; and optimizer.json (which may carry extra scalars)."""
    tfile, jfile = folder / OPTIMIZER_FILE, folder / OPTIMIZER_JSON
    try:
        tensors = load_file(str(tfile))
        meta = json.loads(jfile.read_text(encoding="utf-8"))
        sd = _join_optimizer(tensors, meta)
    except FileNotFoundError as e:
        raise _corrupt(Path(e.filename or tfile), "missing") from None
    except (SafetensorError, json.JSONDecodeError, OSError, KeyError, ValueError) as e:
        raise _corrupt(tfile, str(e).splitlines()[0]) from None
    saved_kind = "muon" if any("muon" in g for g in sd["param_groups"]) else "adamw"
    current_kind = "muon" if any("muon" in g for g in optimizer.param_groups) else "adamw"
    if saved_kind != current_kind:
        raise TrainerError(
            f"the checkpoint in {folder} was trained with optimizer.name {saved_kind}, not {current_kind}; "
            f"resume with optimizer.name={saved_kind}, or train a new run",
            "optimizer.name",
        )
    # how the update runs (fused, foreach ...) follows this machine, and the peak learning
    # rates this run's config, not the saved ones (a checkpoint from before peak_lr has none)
    for saved, current in zip(sd["param_groups"], optimizer.param_groups, strict=False):
        for key in ("fused", "foreach", "capturable", "differentiable", "peak_lr"):
            if key in current:
                saved[key] = current[key]
    return sd, meta


def load_optimizer(
    optimizer: torch.optim.Optimizer, folder: Path, load: Callable[[dict], None] | None = None
) -> dict:
    """Restores the optimizer state, through `load` when the optimizer is sharded
    (sharded.py), else its load_state_dict; returns optimizer.json (which may carry extra scalars)."""
    sd, meta = _read_optimizer(optimizer, folder)
    try:
        (load or optimizer.load_state_dict)(sd)
    except (ValueError, KeyError, RuntimeError) as e:
        raise _corrupt(folder / OPTIMIZER_FILE, str(e).splitlines()[0]) from None
    return meta


def load_model(run_dir: Path | str, device: str | torch.device = "cpu") -> tuple[GPT, dict]:
    """The run's checkpointed model in eval mode, and its state.json. A LoRA run's is its base
    with the adapters merged in (lora.py), a plain GPT as any other run's."""
    folder = checkpoint_dir(RunDir(Path(run_dir)))
    state = read_state(folder)
    if "lora" in state:
        model = lora.merged(lora.load_checkpoint(folder, state, 0.0, str(folder / STATE_FILE)))
    else:
        model = GPT(config_from_args(state["model_args"]))
        load_weights(model, folder, device)
    model.to(device)
    model.eval()
    return model, state
