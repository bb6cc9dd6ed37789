"""`python -m wordplay_trainer export --run <dir> --format peft --out <folder>`: a LoRA run's
adapters alone, in PEFT's format, for the base model's Hugging Face folder (or hub name):
adapter_config.json + adapter_model.safetensors, which `PeftModel.from_pretrained(base, folder)`
loads onto the base transformers builds from train.init_from.

Names: a Llama, Qwen2 or Qwen3 base's projections are PEFT's q_proj, k_proj, v_proj, o_proj,
gate_proj, up_proj, down_proj (our c_attn's query, key and value rows each carry adapters of their
own, so they map one to one), keys `base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight`.
GPT-2's query, key and value are one fused Conv1D, c_attn, as they are in our model: its
adapters become one adapter on attn.c_attn of rank k·rank for the k slices adapted (A their A's
stacked, B each slice's B in its rows and columns, zeros elsewhere: the same product), with
rank_pattern and alpha_pattern keeping alpha / rank; attn.c_proj, mlp.c_fc, mlp.c_proj are named
whole (fan_in_fan_out, as PEFT wants for Conv1D).

The folder is written beside `out` and renamed into place only after a check: transformers
builds the base, PEFT adds the adapters, and its logits are our merged model's within 1e-4.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from ..common.errors import TrainerError
from ..common.files import new_folder, require_new_folder
from ..run.rundir import STATE_FILE, RunDir
from ..train import lora
from ..train.checkpoint import checkpoint_dir, read_state
from ..train.model import GPT

WEIGHTS = "adapter_model.safetensors"
TOLERANCE = 1e-4
CHECK_TOKENS = 64
# our target -> the module PEFT adapts, in a Llama-family layer and in a GPT-2 block
LLAMA_MODULES = {
    "q": "self_attn.q_proj",
    "k": "self_attn.k_proj",
    "v": "self_attn.v_proj",
    "o": "self_attn.o_proj",
    "gate": "mlp.gate_proj",
    "up": "mlp.up_proj",
    "down": "mlp.down_proj",
}
GPT2_MODULES = {"q": "attn.c_attn", "k": "attn.c_attn", "v": "attn.c_attn", "o": "attn.c_proj"}
GPT2_MODULES |= {"up": "mlp.c_fc", "down": "mlp.c_proj"}


def peft_tensors(model: GPT) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
    """The adapters under PEFT's keys, and the rank of each module whose rank is not the run's
    (GPT-2's fused c_attn)."""
    gpt2 = model.config.position == "learned"  # the one base with learned positions
    prefix, names = ("transformer.h", GPT2_MODULES) if gpt2 else ("model.layers", LLAMA_MODULES)
    tensors: dict[str, torch.Tensor] = {}
    ranks: dict[str, int] = {}
    for name, module in lora.adapters(model).items():
        layer = int(name.split(".")[2])  # transformer.h.{i}.attn.c_attn
        parts = list(module.slices.items())
        key = f"base_model.model.{prefix}.{layer}.{{}}"
        if gpt2 and name.endswith("attn.c_attn"):
            a = torch.cat([module.lora_A[n] for n, _ in parts])  # (k·rank) × in
            b = torch.zeros(module.out_features, a.size(0))
            r = module.lora_A[parts[0][0]].size(0)
            for i, (n, (start, end)) in enumerate(parts):
                b[start:end, i * r : (i + 1) * r] = module.lora_B[n]
            where = key.format(names[parts[0][0]])
            tensors |= {f"{where}.lora_A.weight": a, f"{where}.lora_B.weight": b}
            ranks[names[parts[0][0]]] = a.size(0)
            continue
        for n, _ in parts:
            where = key.format(names[n])
            tensors[f"{where}.lora_A.weight"] = module.lora_A[n]
            tensors[f"{where}.lora_B.weight"] = module.lora_B[n]
    return {k: v.detach().float().cpu().contiguous() for k, v in tensors.items()}, ranks


def peft_config(entry: dict, ranks: dict[str, int], gpt2: bool):
    """PEFT's LoraConfig of a checkpoint's "lora" entry (lora.py)."""
    from peft import LoraConfig

    names = GPT2_MODULES if gpt2 else LLAMA_MODULES
    rank, alpha = entry["rank"], entry["alpha"]
    return LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=entry["dropout"],
        target_modules=sorted({names[t] for t in entry["targets"] if t in names}),
        rank_pattern=ranks,
        alpha_pattern={m: alpha * r / rank for m, r in ranks.items()},  # alpha / rank as the run's
        fan_in_fan_out=gpt2,
        base_model_name_or_path=entry["base"],
        task_type="CAUSAL_LM",
        bias="none",
    )


def require_peft() -> None:
    """A TrainerError saying how to install peft where it is missing."""
    try:
        import peft  # noqa: F401 - only whether it imports
    except ImportError:
        raise TrainerError(
            f"--format peft needs the peft package, which {sys.executable} cannot import: install it with "
            f"`{sys.executable} -m pip install peft`, or run `wordplay setup`",
            "--format",
        ) from None


def logits_difference(model: GPT, base: str, folder: Path) -> float:
    """The largest absolute difference between our merged model's logits and those of the base
    with PEFT's adapters from `folder`, over the real vocabulary, on a fixed random sequence."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    hf = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), folder).eval()
    c = model.config
    ids = torch.randint(
        c.vocab_size, (1, min(c.block_size, CHECK_TOKENS)), generator=torch.Generator().manual_seed(0)
    )
    with torch.no_grad():
        ours = lora.merged(model)(ids, ids)[0][..., : c.vocab_size]
        theirs = hf(ids).logits[..., : c.vocab_size]
    return float((ours - theirs).abs().max())


def export_peft(run_dir: Path, out: Path) -> Path:
    """Writes a LoRA run's adapters as a PEFT adapter folder at `out` (not there yet, or empty);
    returns `out`."""
    run_dir, out = Path(run_dir), Path(out)
    require_new_folder(out)
    folder = checkpoint_dir(RunDir(run_dir))
    state = read_state(folder)
    if "lora" not in state:
        raise TrainerError(
            f"--format peft writes a LoRA run's adapters, and {run_dir} trained every weight (its "
            "train.lora.rank was null); export it whole with --format hf, or train with train.lora",
            "train.lora",
        )
    require_peft()
    model = lora.load_checkpoint(folder, state, 0.0, str(folder / STATE_FILE)).eval()
    tensors, ranks = peft_tensors(model)
    config = peft_config(state["lora"], ranks, model.config.position == "learned")
    with new_folder(out) as tmp:
        save_file(tensors, str(tmp / WEIGHTS), metadata={"format": "pt"})
        config.save_pretrained(str(tmp))
        diff = logits_difference(model, lora.base_folder(state["lora"]), tmp)
        if not diff <= TOLERANCE:
            raise ValueError(
                f"PEFT's adapters on the base give logits {diff:.2e} away from the merged model's "
                f"(more than {TOLERANCE}): the export was not written"
            )
    print(
        f"wrote {out} (PEFT LoRA adapters; logits within {diff:.1e} of the merged model's)", file=sys.stderr
    )
    return out
