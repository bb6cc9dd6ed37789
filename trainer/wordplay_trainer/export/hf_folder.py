"""`python -m wordplay_trainer export --run <dir> --format hf --out <folder>`: a run's checkpoint
as a Hugging Face folder that `AutoModelForCausalLM.from_pretrained` and
`AutoTokenizer.from_pretrained` load with transformers' own classes, no trust_remote_code.

The folder: model.safetensors + config.json + generation_config.json (the model's
save_pretrained), tokenizer.json + tokenizer_config.json (hf_tokenizer.py) and a model card,
README.md. HF_ARCHITECTURES maps each architecture onto the transformers class that computes
exactly what train/model.py computes: learned + layernorm (gelu or relu2) is GPT2LMHeadModel (with zero
biases where model.bias is false; its Conv1D weights are our Linear's transposed); rope + rmsnorm
is LlamaForCausalLM with swiglu, Qwen3ForCausalLM with swiglu and qk_norm (the demo preset),
ArceeForCausalLM with gelu or relu2, ApertusForCausalLM with those and qk_norm. Any other
combination is refused, naming the model.* keys and listing these: transformers 4.57 has no
class that computes it exactly (learned positions with rmsnorm, rope with layernorm, learned
positions with swiglu or qk_norm), and Qwen3's and Apertus' MLPs have no biases (model.bias true
is refused for them). The padded embedding rows are dropped: config.json's vocab_size is the
tokenizer's, or, for a model folder's tokenizer (prepare --tokenizer <folder>), the embedding's
rows as that folder had them (Qwen's outnumber its tokenizer's ids).

The shapes Llama and Qwen weights bring go into the config as those classes name them:
model.n_kv_head is num_key_value_heads, head_dim head_dim, mlp_hidden intermediate_size,
rope_base rope_theta, norm_eps rms_norm_eps. model.attn_bias (biases on q, k and v alone) makes
the Llama row Qwen2ForCausalLM, whose attention is exactly that; the other Llama-family classes
hold it as attention_bias, which adds an output-projection bias too, written as zeros. GPT-2's
class has neither grouped-query attention nor a head size of its own: those are refused for it.

The folder is written beside `out` and renamed into place only after a check: transformers loads
it and its logits are ours within 1e-4, so a folder that would give other logits never appears.
Writing it needs about three copies of the weights in memory (ours, transformers' and the check's).
"""

from __future__ import annotations

import json
import sys
from contextlib import redirect_stdout
from pathlib import Path

import torch

from ..common.errors import TrainerError
from ..common.files import new_folder, require_new_folder
from ..prepare.dataset import FILES, bits_per_byte, end_of_text, tokenizer_kind, tokens_per_byte
from ..run.rundir import STATE_FILE, RunDir
from ..train.checkpoint import load_model
from ..train.gpt2_weights import TRANSPOSED
from ..train.model import GPT, GPTConfig
from .hf_tokenizer import fast_tokenizer
from .refusals import refuse_gpt2_heads, refuse_ours_only

# (model.position, model.norm, model.qk_norm, model.mlp) -> (the transformers class, whether it
# can hold model.bias true)
HF_ARCHITECTURES: dict[tuple[str, str, bool, str], tuple[str, bool]] = {
    ("learned", "layernorm", False, "gelu"): ("GPT2LMHeadModel", True),
    ("learned", "layernorm", False, "relu2"): ("GPT2LMHeadModel", True),
    ("rope", "rmsnorm", False, "swiglu"): ("LlamaForCausalLM", True),
    ("rope", "rmsnorm", True, "swiglu"): ("Qwen3ForCausalLM", False),
    ("rope", "rmsnorm", False, "gelu"): ("ArceeForCausalLM", True),
    ("rope", "rmsnorm", False, "relu2"): ("ArceeForCausalLM", True),
    ("rope", "rmsnorm", True, "gelu"): ("ApertusForCausalLM", False),
    ("rope", "rmsnorm", True, "relu2"): ("ApertusForCausalLM", False),
}
ARCHITECTURE_KEYS = ("position", "norm", "qk_norm", "mlp")
# transformers' ACT2FN names: gelu is the tanh approximation, as train/model.py's (and GPT-2's)
ACTIVATIONS = {"gelu": "gelu_pytorch_tanh", "relu2": "relu2", "swiglu": "silu"}
# the pre-attention and pre-MLP norms of a Llama-family layer, where a class names them otherwise
LAYER_NORMS = {"ApertusForCausalLM": ("attention_layernorm", "feedforward_layernorm")}
TOLERANCE = 1e-4
CHECK_TOKENS = 64
CARD = "README.md"
# what the card quotes of the dataset's meta.json (src/core/prepare/dataset.ts: DatasetMeta)
META_KEYS = ("source", "sha256", "tokenizer", "vocab_size", "documents", "characters")
META_KEYS += ("train_tokens", "val_tokens", "train_bytes", "val_bytes", "created")


def hf_target(c: GPTConfig) -> tuple[str, bool]:
    """The transformers class that computes the model, and whether it holds MLP biases; a
    TrainerError naming the model.* keys when there is none."""
    refuse_ours_only(c, "Hugging Face", "no transformers class computes it")
    arch = tuple(getattr(c, k) for k in ARCHITECTURE_KEYS)
    found = HF_ARCHITECTURES.get(arch)
    if found is not None and found[0] == "GPT2LMHeadModel":
        refuse_gpt2_heads(
            c,
            "Hugging Face",
            "GPT2LMHeadModel",
            'model.position "rope" and model.norm "rmsnorm" (a Llama-family class)',
        )
    if found is not None and found[0] == "LlamaForCausalLM" and c.attn_bias and not c.bias:
        return "Qwen2ForCausalLM", False  # Llama with biases on q, k and v alone: Qwen2
    if found is not None and (found[1] or not c.bias):
        return found
    options = ", ".join(f"model.{k} {json.dumps(v)}" for k, v in zip(ARCHITECTURE_KEYS, arch, strict=True))
    if found is not None:
        options += ", model.bias true"
    rows = "\n".join(
        f"  {', '.join(json.dumps(v) for v in key)}{'' if bias else ' (model.bias false)'}: {name}"
        for key, (name, bias) in HF_ARCHITECTURES.items()
    )
    raise TrainerError(
        f"no transformers class computes this model ({options}); a Hugging Face export needs one of "
        f"these (model.position, model.norm, model.qk_norm, model.mlp):\n{rows}\n"
        "export it as ONNX (--format onnx) instead, or train with one of these",
        "model.bias" if found is not None else None,
    )


def hf_config(name: str, mlp_biases: bool, c: GPTConfig, eot: int | None):
    """The transformers config of class `name` for our model; <|endoftext|> (eot) starts and
    ends text where the vocabulary has one."""
    import transformers

    special = {"bos_token_id": eot, "eos_token_id": eot, "pad_token_id": None}
    config_class = getattr(transformers, name).config_class
    if name == "GPT2LMHeadModel":
        return config_class(
            vocab_size=c.vocab_size,
            n_positions=c.block_size,
            n_embd=c.n_embd,
            n_layer=c.n_layer,
            n_head=c.n_head,
            n_inner=c.mlp_hidden,
            activation_function=ACTIVATIONS[c.mlp],
            layer_norm_epsilon=c.norm_eps,
            resid_pdrop=c.dropout,
            embd_pdrop=c.dropout,
            attn_pdrop=c.dropout,
            tie_word_embeddings=c.tie_embeddings,
            **special,
        )
    # mlp_bias exists only in the classes whose MLP can have biases (Llama's, Arcee's);
    # Qwen2's q, k and v always have biases and its output projection never
    mlp_bias = {"mlp_bias": c.bias} if mlp_biases else {}
    attention_bias = {} if name == "Qwen2ForCausalLM" else {"attention_bias": c.bias or c.attn_bias}
    return config_class(
        vocab_size=c.vocab_size,
        hidden_size=c.n_embd,
        intermediate_size=c.mlp_hidden,
        num_hidden_layers=c.n_layer,
        num_attention_heads=c.n_head,
        num_key_value_heads=c.n_kv_head,
        head_dim=c.head_dim,
        hidden_act=ACTIVATIONS[c.mlp],
        max_position_embeddings=c.block_size,
        rms_norm_eps=c.norm_eps,
        rope_theta=c.rope_base,
        rope_scaling=None,  # Apertus' default is Llama 3's scaled rotation; ours is plain
        attention_dropout=c.dropout,
        tie_word_embeddings=c.tie_embeddings,
        **attention_bias,
        **mlp_bias,
        **special,
    )


def gpt2_weights(sd: dict[str, torch.Tensor], hf_sd: dict[str, torch.Tensor], c: GPTConfig) -> dict:
    """Our weights under GPT2LMHeadModel's names, which are ours: its Conv1D layers hold the
    transpose of our Linear weights, and the biases a model.bias false model lacks are zero."""
    out = {}
    for key, like in hf_sd.items():
        if key in ("transformer.wte.weight", "lm_head.weight"):
            out[key] = sd[key][: c.vocab_size]
        elif key not in sd and key.endswith(".bias"):
            out[key] = torch.zeros_like(like)
        elif key.endswith(TRANSPOSED):
            out[key] = sd[key].t()
        else:
            out[key] = sd[key]
    return out


def llama_weights(sd: dict[str, torch.Tensor], c: GPTConfig, name: str) -> dict:
    """Our weights under the Llama family's names: c_attn split into q (n_head heads), k and v
    (n_kv_head heads each); c_fc is the up projection, c_gate the gate, c_proj down."""
    attn_norm, mlp_norm = LAYER_NORMS.get(name, ("input_layernorm", "post_attention_layernorm"))
    renames = {
        "ln_1": attn_norm,
        "ln_2": mlp_norm,
        "attn.c_proj": "self_attn.o_proj",
        "attn.q_norm": "self_attn.q_norm",
        "attn.k_norm": "self_attn.k_norm",
        "mlp.c_fc": "mlp.up_proj",
        "mlp.c_gate": "mlp.gate_proj",
        "mlp.c_proj": "mlp.down_proj",
    }
    out = {
        "model.embed_tokens.weight": sd["transformer.wte.weight"][: c.vocab_size],
        "model.norm.weight": sd["transformer.ln_f.weight"],
        "lm_head.weight": sd["lm_head.weight"][: c.vocab_size],
    }
    for i in range(c.n_layer):
        ours, theirs = f"transformer.h.{i}.", f"model.layers.{i}."
        for old, new in renames.items():
            for part in ("weight", "bias"):
                if f"{ours}{old}.{part}" in sd:
                    out[f"{theirs}{new}.{part}"] = sd[f"{ours}{old}.{part}"]
        for part in ("weight", "bias"):
            if f"{ours}attn.c_attn.{part}" in sd:
                kv_width = c.n_kv_head * c.head_dim
                q, k, v = sd[f"{ours}attn.c_attn.{part}"].split([c.n_head * c.head_dim, kv_width, kv_width])
                for proj, value in zip(("q_proj", "k_proj", "v_proj"), (q, k, v), strict=True):
                    out[f"{theirs}self_attn.{proj}.{part}"] = value
    return out


def hf_model(model: GPT, eot: int | None):
    """A transformers model of the matching class holding our weights."""
    import transformers

    c = model.config
    name, mlp_biases = hf_target(c)
    hf = getattr(transformers, name)(hf_config(name, mlp_biases, c, eot)).eval()
    sd = {k: v.detach().to("cpu", torch.float32) for k, v in model.state_dict().items()}
    hf_sd = hf.state_dict()
    if name == "GPT2LMHeadModel":
        weights = gpt2_weights(sd, hf_sd, c)
    else:
        weights = llama_weights(sd, c, name)
        # attention_bias for model.attn_bias gives o_proj a bias we do not have: zero
        for key in hf_sd.keys() - weights.keys():
            if key.endswith("self_attn.o_proj.bias"):
                weights[key] = torch.zeros_like(hf_sd[key])
    # strict: a weight of either side left without its counterpart is a mapping bug
    hf.load_state_dict(weights, strict=True)
    return hf


@torch.no_grad()
def logits_difference(model: GPT, folder: Path) -> float:
    """The largest absolute difference between our logits and those of the model transformers
    loads from folder, over the real vocabulary, on a fixed random sequence."""
    from transformers import AutoModelForCausalLM

    hf = AutoModelForCausalLM.from_pretrained(folder).eval()
    c = model.config
    ids = torch.randint(
        c.vocab_size, (1, min(c.block_size, CHECK_TOKENS)), generator=torch.Generator().manual_seed(0)
    )
    ours = model(ids, ids)[0][..., : c.vocab_size]
    return float((ours - hf(ids).logits).abs().max())


def _read_json(file: Path) -> dict | None:
    return json.loads(file.read_text(encoding="utf-8")) if file.is_file() else None


def _usage_prompt(tokenizer: dict) -> str:
    """A prompt for the card's snippet that the tokenizer encodes whole."""
    if tokenizer_kind(tokenizer) == "char" and not set("The") <= set(tokenizer["vocab"]):
        return tokenizer["vocab"][0]
    return "The"


def model_card(run_dir: Path, out: Path, hf, c: GPTConfig, state: dict, tokenizer: dict) -> str:
    """README.md: what the folder holds, what it was trained on and how, and how to use it."""
    run_config = _read_json(RunDir(run_dir).config)
    if run_config is None:
        dataset_lines = ["not found (the run folder has no config.json)"]
        config_lines = dataset_lines
        meta = None
    else:
        dataset = Path(run_config["data"]["dataset"])
        meta = _read_json(dataset / FILES["meta"])
        dataset_lines = [f"- folder: `{dataset}`"]
        if meta is None:
            dataset_lines.append(f"- {FILES['meta']}: not found (no {dataset / FILES['meta']})")
        else:
            dataset_lines += [f"- {k}: {json.dumps(meta[k])}" for k in META_KEYS if k in meta]
        groups = {k: run_config[k] for k in ("model", "train", "optimizer")}
        config_lines = ["```json", json.dumps(groups, indent=2), "```"]
    val_loss, best = state.get("val_loss"), state.get("best_val_loss")
    bpb = None if val_loss is None or meta is None else bits_per_byte(val_loss, tokens_per_byte(meta, "val"))
    fmt = lambda x: "not recorded" if x is None else f"{x:.4f}"  # noqa: E731
    bpb_text = fmt(bpb) if bpb is not None else "not known (needs meta.json with val_bytes)"
    return "\n".join(
        [
            "---",
            "library_name: transformers",
            "pipeline_tag: text-generation",
            "tags:",
            "- wordplay",
            "---",
            "",
            f"# {run_dir.resolve().name}",
            "",
            f"A language model trained with wordplay, exported from the run folder `{run_dir}`.",
            "",
            "| | |",
            "|---|---|",
            f"| transformers class | `{type(hf).__name__}` |",
            f"| parameters | {hf.num_parameters():,} |",
            f"| tokenizer | {tokenizer_kind(tokenizer)}, {c.vocab_size} tokens |",
            f"| context | {c.block_size} tokens |",
            f"| iteration | {state.get('iteration', 'not recorded')} |",
            f"| val loss (nats per token) | {fmt(val_loss)} |",
            f"| best val loss | {fmt(best)} |",
            f"| val bits per byte | {bpb_text} |",
            "",
            "## Dataset",
            "",
            *dataset_lines,
            "",
            "## Run configuration",
            "",
            *config_lines,
            "",
            "## Usage",
            "",
            "```python",
            "from transformers import AutoModelForCausalLM, AutoTokenizer",
            f"tokenizer = AutoTokenizer.from_pretrained({str(out)!r})",
            f"model = AutoModelForCausalLM.from_pretrained({str(out)!r})",
            f"ids = tokenizer({_usage_prompt(tokenizer)!r}, return_tensors='pt').input_ids",
            f"print(tokenizer.decode(model.generate(ids, max_new_tokens={min(100, c.block_size // 2)}, "
            "do_sample=True)[0]))",
            "```",
            "",
        ]
    )


def export_hf(run_dir: Path, out: Path, gpt2_tokenizer: Path | None) -> Path:
    """Writes the run's checkpoint as a Hugging Face folder at `out` (not there yet, or empty);
    returns `out`."""
    run_dir, out = Path(run_dir), Path(out)
    require_new_folder(out)
    model, state = load_model(run_dir, device="cpu")
    tokenizer = state.get("tokenizer")
    if not isinstance(tokenizer, dict):
        raise ValueError(f"{RunDir(run_dir).checkpoint / STATE_FILE} holds no tokenizer")
    hf_target(model.config)  # refuse an architecture without a class before the tokenizer's work
    fast = fast_tokenizer(tokenizer, gpt2_tokenizer, model.config.block_size)
    # a model folder's embedding may have rows past its tokenizer's ids (Qwen's do): kept, as there
    hf_kind = tokenizer_kind(tokenizer) == "hf"
    if len(fast) > model.config.vocab_size or (len(fast) < model.config.vocab_size and not hf_kind):
        raise ValueError(
            f"the tokenizer has {len(fast)} tokens but the model's vocab_size is {model.config.vocab_size}"
        )
    hf = hf_model(model, end_of_text(tokenizer))
    with new_folder(out) as tmp:
        # save_pretrained goes through accelerate, which imports DeepSpeed where it is installed,
        # and DeepSpeed's logger prints to stdout: the command's stdout is the folder's path alone
        with redirect_stdout(sys.stderr):
            hf.save_pretrained(tmp, safe_serialization=True)
        fast.save_pretrained(tmp)
        (tmp / CARD).write_text(
            model_card(run_dir, out, hf, model.config, state, tokenizer), encoding="utf-8"
        )
        diff = logits_difference(model, tmp)
        if not diff <= TOLERANCE:
            raise ValueError(
                f"transformers' {type(hf).__name__} gives logits {diff:.2e} away from the checkpoint's "
                f"(more than {TOLERANCE}): the export was not written"
            )
    print(f"wrote {out} ({type(hf).__name__}; logits within {diff:.1e} of the checkpoint's)", file=sys.stderr)
    return out
