"""LoRA (Hu et al. 2021, https://arxiv.org/abs/2106.09685): train.lora's low-rank adapters on a
frozen pretrained GPT.

An adapted projection keeps its weight W frozen and computes x·Wᵀ + scale·dropout(x)·Aᵀ·Bᵀ, with A
(rank × in) Kaiming-uniform as PEFT initialises it, B (out × rank) zeros (so training starts from
the base model exactly) and scale = alpha / rank. Targets carry Llama's names and map onto our
modules: q, k, v the query, key and value rows of attn.c_attn (each slice with an A and B of its
own, PEFT's q_proj, k_proj, v_proj); o attn.c_proj; gate mlp.c_gate; up mlp.c_fc; down mlp.c_proj.
A target the model lacks (gate without SwiGLU) gets no adapter. Every base parameter is frozen,
embeddings and norms too: only the adapters train, with AdamW (config.py refuses Muon, and the
sharded backends, whose frozen base would need sharding of its own).

A LoRA checkpoint holds the adapters alone (their state-dict keys, `lora_A`/`lora_B`), and
state.json's "lora" the settings and the base: train.init_from as the run started, the folder its
weights came from (a hub name's snapshot in the cache) and the size, modification time and sha256
of each of its weight files. A resume or an export rebuilds the base from that folder
(load_base), refusing one whose files changed, and adds the adapters. `merged(model)` is a plain
GPT holding W + scale·B·A, every other tensor the base's: what the ONNX, hf and gguf exports
write (checkpoint.load_model returns it for a LoRA run), and the kept exports.
"""

from __future__ import annotations

import copy
import hashlib
import math
from pathlib import Path

import torch
import torch.nn as nn
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch.nn import functional as F

from ..common.errors import TrainerError
from ..run.rundir import WEIGHTS_FILE
from .gpt2_weights import HUB_NAMES
from .hf_config import locate
from .hf_weights import load_pretrained
from .model import GPT
from .run_config import LoraConfig, TrainConfig

# target -> (the module in a block, its slice of c_attn's [query | key | value] rows, or None)
TARGETS = {
    "q": ("attn.c_attn", 0),
    "k": ("attn.c_attn", 1),
    "v": ("attn.c_attn", 2),
    "o": ("attn.c_proj", None),
    "gate": ("mlp.c_gate", None),
    "up": ("mlp.c_fc", None),
    "down": ("mlp.c_proj", None),
}
WEIGHT_SUFFIXES = (".safetensors", ".bin")


class LoRALinear(nn.Linear):
    """A frozen nn.Linear (the very same weight and bias Parameters, so their names and ties stay)
    plus an adapter on each of some row ranges of its output: the whole output, or c_attn's q, k,
    v slices. lora_A[name] is (rank × in), lora_B[name] (rows × rank)."""

    def __init__(
        self, base: nn.Linear, slices: dict[str, tuple[int, int]], rank: int, scale: float, dropout: float
    ):
        nn.Module.__init__(self)
        self.in_features, self.out_features = base.in_features, base.out_features
        self.weight, self.bias = base.weight, base.bias
        self.slices = dict(sorted(slices.items(), key=lambda item: item[1]))  # in row order
        self.scale = scale
        self.lora_dropout = nn.Dropout(dropout)
        like = {"device": base.weight.device, "dtype": torch.float32}
        self.lora_A = nn.ParameterDict(
            {n: nn.Parameter(torch.empty(rank, self.in_features, **like)) for n in slices}
        )
        self.lora_B = nn.ParameterDict(
            {n: nn.Parameter(torch.zeros(end - start, rank, **like)) for n, (start, end) in slices.items()}
        )
        for a in self.lora_A.values():
            nn.init.kaiming_uniform_(a, a=math.sqrt(5))  # PEFT's init of lora_A (nn.Linear's own)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.linear(x, self.weight, self.bias)
        h = self.lora_dropout(x)
        pieces, at = [], 0
        for name, (start, end) in self.slices.items():
            if start > at:
                pieces.append(y[..., at:start])
            delta = F.linear(F.linear(h, self.lora_A[name]), self.lora_B[name])
            pieces.append(y[..., start:end] + self.scale * delta)
            at = end
        if at < self.out_features:
            pieces.append(y[..., at:])
        return pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=-1)

    def delta(self, name: str) -> torch.Tensor:
        """scale·B·A of one slice, in float32: what merging adds to its rows of the weight."""
        return self.scale * (self.lora_B[name].float() @ self.lora_A[name].float())


def apply(model: GPT, lora: LoraConfig) -> None:
    """Freezes every parameter of `model` and puts adapters on train.lora.targets, in place."""
    assert lora.rank is not None
    model.requires_grad_(False)
    for block in model.transformer.h:
        widths = block.attn.widths
        rows = [(sum(widths[:i]), sum(widths[: i + 1])) for i in range(3)]  # q, k, v in c_attn
        by_module: dict[str, dict[str, tuple[int, int]]] = {}
        for target in lora.targets:
            path, part = TARGETS[target]
            linear = _module(block, path)
            if linear is None:
                continue  # gate without SwiGLU
            by_module.setdefault(path, {})[target] = (
                rows[part] if part is not None else (0, linear.out_features)
            )
        for path, slices in by_module.items():
            parent, _, name = path.rpartition(".")
            adapted = LoRALinear(
                _module(block, path), slices, lora.rank, lora.alpha / lora.rank, lora.dropout
            )
            setattr(block.get_submodule(parent), name, adapted)


def _module(block: nn.Module, path: str) -> nn.Module | None:
    module = block
    for name in path.split("."):
        module = getattr(module, name, None)
    return module


def adapters(model: GPT) -> dict[str, LoRALinear]:
    """The adapted projections by their names in the model."""
    return {name: m for name, m in model.named_modules() if isinstance(m, LoRALinear)}


def is_adapter(key: str) -> bool:
    return ".lora_A." in key or ".lora_B." in key


def adapter_state(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The adapters' tensors of a state dict: what a LoRA checkpoint holds."""
    return {k: v for k, v in weights.items() if is_adapter(k)}


def merged_state(model: GPT) -> dict[str, torch.Tensor]:
    """The model's state dict with each adapted weight W + scale·B·A and no adapters (a model
    without adapters: its state dict as it is); the other tensors are the model's own."""
    weights = {k: v for k, v in model.state_dict().items() if not is_adapter(k)}
    with torch.no_grad():
        for name, module in adapters(model).items():
            w = module.weight.detach().clone()
            for slice_name, (start, end) in module.slices.items():
                w[start:end] += module.delta(slice_name).to(w.dtype)
            weights[f"{name}.weight"] = w
    return weights


def merged(model: GPT) -> GPT:
    """A plain GPT of merged_state (sharing the base's tensors, not copying them), in eval mode."""
    with torch.device("meta"):
        plain = GPT(copy.deepcopy(model.config))
    plain.load_state_dict(merged_state(model), assign=True)
    if plain.config.tie_embeddings:
        plain.transformer.wte.weight = plain.lm_head.weight  # assign loads the two names apart
    return plain.eval()


def run_record(t: TrainConfig, resume_state: dict | None, master: bool) -> dict | None:
    """state.json's "lora" for a run: the resumed checkpoint's, or on rank 0 (the one writer) a
    new record of train.init_from; None without LoRA."""
    if resume_state is not None:
        return resume_state.get("lora")
    return record(t.lora, t.init_from) if t.lora.rank is not None and master else None


def describe(model: GPT) -> str:
    """What trains, for the log: "124.44M parameters", or "1,327,104 of 125.77M parameters (LoRA
    adapters)"."""
    n, total = trainable(model), model.num_params()
    if n == sum(p.numel() for p in model.parameters()):
        return f"{total / 1e6:.2f}M parameters"
    return f"{n:,} of {total / 1e6:.2f}M parameters (LoRA adapters)"


# ---- the base, as state.json records it -------------------------------------------------------


def base_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES))


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as f:
        while chunk := f.read(1 << 24):
            digest.update(chunk)
    return digest.hexdigest()


def record(lora: LoraConfig, base: str) -> dict:
    """state.json's "lora": the settings; the base as train.init_from named it (a folder, a hub
    name, gpt2*); the folder its weights were read from (the folder, or the hub name's snapshot in
    the Hugging Face cache; none for gpt2*, which transformers keeps); and each of that folder's
    weight files' size, modification time and sha256 (about a second a gigabyte, once a run)."""
    settings = {
        "rank": lora.rank,
        "alpha": lora.alpha,
        "dropout": lora.dropout,
        "targets": list(lora.targets),
    }
    if base in HUB_NAMES:
        return {**settings, "base": base, "files": {}}
    folder = locate(base)
    files = {}
    for f in base_files(folder):
        stat = f.stat()
        files[f.name] = {"bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": _sha256(f)}
    return {**settings, "base": base, "folder": str(folder.resolve()), "files": files}


def base_folder(entry: dict) -> str:
    """Where a checkpoint's base is read from: the very folder the run read (a hub name's own
    snapshot, not whatever the hub holds now), or gpt2* by its name."""
    return entry.get("folder") or entry["base"]


def settings(entry: dict) -> LoraConfig:
    """The LoraConfig a checkpoint's "lora" entry was trained with."""
    return LoraConfig(entry["rank"], entry["alpha"], entry["dropout"], tuple(entry["targets"]))


def check_base(entry: dict, key: str) -> None:
    """Refuses a base whose weight files are not those the adapters were trained on: missing,
    resized, or changed in content (the hash is read only when a file's time changed)."""
    base, files = base_folder(entry), entry.get("files") or {}
    if not files:
        return  # gpt2*
    folder = Path(base)
    fix = "restore that folder as it was (the adapters only hold what was learned on top of it)"
    for name, seen in files.items():
        f = folder / name
        if not f.is_file():
            raise TrainerError(f"the LoRA run's base {base} has no {name} any more; {fix}", str(f))
        stat = f.stat()
        same_time = stat.st_mtime_ns == seen["mtime_ns"]
        if stat.st_size != seen["bytes"] or (not same_time and _sha256(f) != seen["sha256"]):
            raise TrainerError(f"{f} changed since the LoRA run was trained on it; {fix}", str(f))
    extra = sorted({p.name for p in base_files(folder)} - set(files))
    if extra:
        raise TrainerError(
            f"{folder / extra[0]} appeared in the LoRA run's base {base} since; {fix}", str(folder)
        )


def load_base(base: str, block_size: int, dropout: float, key: str) -> GPT:
    """The pretrained model train.init_from named (hf_weights.py), at the run's block size."""
    return load_pretrained(base, dropout=dropout, block_size=block_size, key=key)


def load_checkpoint(folder: Path, state: dict, dropout: float, key: str) -> GPT:
    """A LoRA checkpoint's model: its base rebuilt and checked, its adapters loaded."""
    entry = state["lora"]
    check_base(entry, key)
    model = load_base(base_folder(entry), state["model_args"]["block_size"], dropout, key)
    apply(model, settings(entry))
    file = folder / WEIGHTS_FILE
    try:
        tensors = load_file(str(file))
    except (FileNotFoundError, SafetensorError, OSError) as e:
        raise TrainerError(
            f"{file} is missing or corrupt ({e}); restore it, or train a new run", str(file)
        ) from None
    expected = set(adapter_state(model.state_dict()))
    if set(tensors) != expected:
        wrong = sorted(set(tensors) ^ expected)[:3]
        raise TrainerError(
            f"{file} does not hold this run's adapters ({wrong} differ); restore it", str(file)
        )
    try:
        model.load_state_dict(tensors, strict=False)
    except RuntimeError as e:  # a shape that is not the base's
        raise TrainerError(
            f"{file} does not fit its base ({str(e).splitlines()[-1].strip()}); restore it", str(file)
        ) from None
    return model


def trainable(model: nn.Module) -> int:
    """Parameters that train (with LoRA: the adapters')."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
