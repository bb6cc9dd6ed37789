"""A pretrained model's shape and architecture, as train.init_from (or export's --from) names it:
one of GPT-2's hub names (schemas/gpt2.json), a Hugging Face folder's config.json, or a hub name,
downloaded into the Hugging Face cache. schemas/hf-models.json maps each family's config.json onto
the run config's model group (src/core/train/hfConfig.ts reads the same table); whatever a family
can carry that our GPT does not reproduce exactly (rope scaling, sliding windows, other biases or
activations) is refused by name, never approximated.

No torch here: the config stage (train/config.py) reads it before anything is built; the
weights themselves are hf_weights.py's (Llama, Qwen2, Qwen3) and gpt2_weights.py's (GPT-2)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..common.errors import ConfigError, TrainerError
from ..common.js import js_json as js
from ..common.schemas import read_json

HF = read_json("hf-models.json")
GPT2 = read_json("gpt2.json")
FILES = HF["files"]
FAMILIES: dict[str, dict] = HF["families"]
INTEGER_KEYS = ("n_layer", "n_head", "n_kv_head", "n_embd", "head_dim", "mlp_hidden")
NUMBER_KEYS = ("rope_base", "norm_eps")


@dataclass(frozen=True)
class Pretrained:
    """What a pretrained model fixes: `model`, the model group's keys with their values, and for
    each where it comes from (`why`, for messages); the context it was trained for (`positions`)
    and its vocabulary (the embedding's rows)."""

    source: str
    folder: Path | None  # None: a GPT-2 hub name, which transformers fetches itself
    family: str  # a key of hf-models.json's families
    model: dict
    why: dict
    positions: int
    positions_why: str
    vocab_size: int


def is_hub_name(source: str) -> bool:
    """owner/name, as the hub spells its models (a folder of that name wins: see locate)."""
    return re.fullmatch(HF["hub_name"], source) is not None


def locate(source: str, key: str = "train.init_from") -> Path:
    """The local folder of a folder or hub name; a hub name is downloaded (its JSON and
    safetensors files alone) into the Hugging Face cache, or found there offline."""
    if Path(source).is_dir():
        return Path(source)
    if not is_hub_name(source):
        raise TrainerError(
            f"{source} is not a folder: name a Hugging Face model folder (config.json, model.safetensors, "
            "tokenizer.json), a hub name such as HuggingFaceTB/SmolLM2-135M, or gpt2",
            key,
        )
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise TrainerError(
            f"{key} {source} needs the huggingface_hub package to download it: run `wordplay setup`, or "
            "name a local Hugging Face folder",
            key,
        ) from None
    try:
        return Path(snapshot_download(source, allow_patterns=HF["hub_files"]))
    except (OSError, ValueError) as e:
        raise TrainerError(
            f"could not download {source} from the Hugging Face hub, and this machine's Hugging Face cache "
            f"does not hold it ({str(e).splitlines()[0]}); connect to the network and try again, or name a "
            "local Hugging Face folder",
            key,
        ) from None


def read_pretrained(source: str, key: str = "train.init_from") -> Pretrained:
    """What `source` (a GPT-2 name, a folder or a hub name) fixes; a TrainerError naming `key`
    and the file at fault when it cannot be read or holds what we do not reproduce."""
    if source in GPT2["models"]:
        spec = FAMILIES["gpt2"]
        shape = dict(GPT2["models"][source])
        fixed = _resolved(
            shape | {"n_kv_head": None, "head_dim": None, "mlp_hidden": None, "norm_eps": 1e-5}, "gpt2"
        )
        model = {**spec["options"], **fixed}
        why = {k: "GPT-2's" for k in model}
        return Pretrained(source, None, "gpt2", model, why, GPT2["block_size"], "GPT-2's", GPT2["vocab_size"])
    folder = locate(source, key)
    file = folder / FILES["config"]
    if not file.is_file():
        raise TrainerError(
            f"{file} is missing: {folder} is not a Hugging Face model folder; name the folder that holds "
            "config.json and the weights",
            key,
        )
    try:
        hc = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TrainerError(f"{file} is not valid JSON ({e}); download the model again", key) from None
    if not isinstance(hc, dict):
        raise TrainerError(f"{file} must hold a JSON object; download the model again", key)
    return from_config(hc, file, source, key)


def from_config(hc: dict, file: Path, source: str, key: str) -> Pretrained:
    """config.json's settings (`hc`) as the model group's keys, through hf-models.json."""

    def refuse(what: str) -> TrainerError:
        return TrainerError(f"{file}: {what}", key)

    family = hc.get("model_type")
    if not isinstance(family, str) or family not in FAMILIES:
        names = ", ".join(FAMILIES)
        raise refuse(
            f"model_type {js(family)} is not one wordplay's GPT reads ({names}); choose a model of "
            "those families, or train from scratch"
        )
    spec = FAMILIES[family]
    architectures = hc.get("architectures")
    if isinstance(architectures, list) and spec["class"] not in architectures:
        raise refuse(
            f"architectures {js(architectures)} does not name {spec['class']}, the class whose weights "
            "wordplay's GPT reads; choose the model's causal language model"
        )
    for name, allowed in spec["supported"].items():
        value = hc.get(name)
        if value is None and None not in allowed:
            value = allowed[0]  # left out or null: transformers' default
        if value not in allowed or (isinstance(value, bool) != isinstance(allowed[0], bool)):
            raise refuse(
                f"{name} {js(value)} is not reproduced exactly by wordplay's GPT (it takes "
                f"{' or '.join(js(a) for a in allowed)}), so it is refused rather than approximated; choose "
                "a model without it, or train from scratch"
            )
    layers = hc.get("layer_types")
    if spec["layer_types"] and isinstance(layers, list):
        for value in layers:
            if value not in spec["layer_types"]:
                raise refuse(
                    f"layer_types holds {js(value)}: only {' or '.join(js(a) for a in spec['layer_types'])} "
                    "layers are reproduced exactly, so it is refused rather than approximated; choose a "
                    "model without it, or train from scratch"
                )
    raw = {}
    for ours, theirs in spec["keys"].items():
        value = hc.get(theirs)
        if value is None:
            if theirs not in spec["defaults"]:
                raise refuse(f"{theirs} is missing (it gives model.{ours}); download the model again")
            value = spec["defaults"][theirs]
        raw[ours] = _checked(ours, theirs, value, refuse)
    model = {**spec["options"], **_resolved(raw, family, refuse)}
    why = {ours: f"config.json's {theirs}" for ours, theirs in spec["keys"].items()}
    why |= {ours: f"its model_type {family}" for ours in spec["options"]}
    why |= {ours: "its config.json" for ours in model if ours not in why}  # by our rule, from the shape
    pos_key = spec["positions"]
    positions = hc.get(pos_key)
    positions = _checked(
        "block_size", pos_key, spec["defaults"][pos_key] if positions is None else positions, refuse
    )
    vocab = _checked("vocab_size", "vocab_size", hc.get("vocab_size"), refuse)
    return Pretrained(source, file.parent, family, model, why, positions, f"config.json's {pos_key}", vocab)


def _checked(ours: str, theirs: str, value: Any, refuse) -> Any:
    if ours == "tie_embeddings":
        if not isinstance(value, bool):
            raise refuse(f"{theirs} {js(value)} must be true or false; download the model again")
        return value
    if value is None and ours in ("n_kv_head", "head_dim", "mlp_hidden"):
        return None  # our rule: n_head, n_embd / n_head, 4 n_embd
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ours in NUMBER_KEYS:
        if not number or not value > 0:
            raise refuse(f"{theirs} {js(value)} must be a positive number; download the model again")
        return float(value)
    if not number or not value > 0 or not float(value).is_integer():
        raise refuse(f"{theirs} {js(value)} must be a positive integer; download the model again")
    return int(value)


def _resolved(raw: dict, family: str, refuse=None) -> dict:
    """The shape with our null rules made explicit (so config.json in a run shows it whole)."""
    keys = FAMILIES[family]["keys"]
    shape = {"n_kv_head": None, "head_dim": None, **raw}  # GPT-2's config.json has neither
    if shape["n_kv_head"] is None:
        shape["n_kv_head"] = shape["n_head"]
    if shape["head_dim"] is None:
        if shape["n_embd"] % shape["n_head"] and refuse is not None:
            raise refuse(
                f"{keys['n_embd']} {shape['n_embd']} is not divisible by {keys['n_head']} {shape['n_head']} "
                "and it has no head_dim; download the model again"
            )
        shape["head_dim"] = shape["n_embd"] // shape["n_head"]
    if shape["mlp_hidden"] is None:
        shape["mlp_hidden"] = 4 * shape["n_embd"]
    if shape["n_head"] % shape["n_kv_head"] and refuse is not None:
        raise refuse(
            f"{keys['n_head']} {shape['n_head']} is not a multiple of {keys['n_kv_head']} "
            f"{shape['n_kv_head']}; download the model again"
        )
    return shape


def fill_model(cfg: dict) -> dict:
    """The config stage of a pretrained train.init_from, before the schema's defaults fill the
    rest: each model key its weights fix takes their value where the config leaves it out (or
    null); a key set to another value is refused, naming the key and the value they need.
    model.block_size may crop the context (left out: the schema's default, or the model's
    context when that is shorter); model.dropout, zero_init and what the weights leave free
    (rope_base for GPT-2) stay the config's."""
    train, model = cfg.get("train"), cfg.get("model", {})
    init = train.get("init_from") if isinstance(train, dict) else None
    if (
        not isinstance(init, str)
        or init in ("scratch", "resume")
        or "\x00" in init
        or not isinstance(model, dict)
    ):
        return cfg
    try:
        p = read_pretrained(init)
    except TrainerError as e:
        raise ConfigError([("train.init_from", e.message)]) from None
    keys = read_json("run-config.schema.json")["properties"]["model"]["properties"]
    model, problems = dict(model), []
    for key, spec in keys.items():
        value = model.get(key)
        if key == "block_size":
            if value is None:
                model[key] = min(spec["default"], p.positions)
            elif _number(value) and value > p.positions:
                message = (
                    f"{js(value)} exceeds the {p.positions} positions of train.init_from {init} "
                    f"({p.positions_why}); set it to at most {p.positions}"
                )
                problems.append((f"model.{key}", message))
        elif key in p.model and value is None:
            model[key] = p.model[key]
        elif key in p.model and not _same(value, p.model[key]):
            need = js(p.model[key])
            message = (
                f"{js(value)} conflicts with train.init_from {init}: its weights need {need} "
                f"({p.why[key]}); leave it out or set it to {need}, or train from scratch"
            )
            problems.append((f"model.{key}", message))
    if problems:
        raise ConfigError(problems)
    return {**cfg, "model": model}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values: true is not 1."""
    return a == b and (isinstance(a, bool) == isinstance(b, bool))
