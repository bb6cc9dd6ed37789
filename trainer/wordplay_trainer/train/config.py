"""The run configuration: loaded from a file, a preset or the JSON text itself, `--set
group.key=value` overrides coerced by the schema's types, validated against
schemas/run-config.schema.json (every error listed at once, each naming its key), defaults
filled from the schema, cross-field checks; the result is a typed RunConfig (run_config.py).

src/core/train/config.ts does the same for the extension, which validates as the user types: the
cross-field checks and the override messages exist in both languages, held to the same words by
the case table test/cases/config-rules.json that both test suites run."""

from __future__ import annotations

import copy
import json
import math
import os
from pathlib import Path
from typing import Any

import jsonschema

from ..common.errors import ConfigError
from ..common.js import js_number
from ..common.schemas import PACKAGE_DIR, read_json
from .hf_config import fill_model, is_hub_name
from .run_config import RunConfig

PRESETS_DIR = PACKAGE_DIR / "presets"
INIT_KEYWORDS = ("scratch", "resume", *read_json("gpt2.json")["models"])


# ---- loading ---------------------------------------------------------------------------------


def load_schema() -> dict:
    return read_json("run-config.schema.json")


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.json"))


def _not_json(constant: str):
    # Python's json reads NaN and Infinity, which JSON (and the extension's parser) refuses
    raise json.JSONDecodeError(f"{constant} is not a JSON value", constant, 0)


def _parse(text: str, where: str, fix: str = "fix the file") -> dict:
    try:
        cfg = json.loads(text, parse_constant=_not_json)
    except json.JSONDecodeError as e:
        raise ConfigError([(where, f"not valid JSON ({e}); {fix}")]) from None
    if not isinstance(cfg, dict):
        raise ConfigError([(where, "must hold a JSON object with the groups data, model, train ...")])
    return cfg


def is_inline(source: str) -> bool:
    """Whether --config holds the configuration itself as JSON text: the extension passes its
    resolved config this way, so the trainer alone writes config.json."""
    return source.startswith("{")


def read_source(source: str) -> tuple[dict, Path, str]:
    """A config file path, a preset name or JSON text -> (config, base folder for relative
    paths, name)."""
    if is_inline(source):
        return _parse(source, "--config", "fix the JSON text"), Path.cwd(), "config"
    path = Path(source)
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise ConfigError([(str(path), f"not valid JSON ({e}); fix the file")]) from None
        return _parse(text, str(path)), path.resolve().parent, config_name(source)
    preset = PRESETS_DIR / f"{source}.json"
    if not source.endswith(".json") and "/" not in source and preset.is_file():
        cfg = json.loads(preset.read_text(encoding="utf-8"))
        return cfg, Path.cwd(), source
    raise ConfigError(
        [
            (
                "--config",
                f'"{source}" is neither a config file nor a preset; presets: {", ".join(preset_names())}',
            )
        ]
    )


def _coerce(raw: str, spec: dict, key: str) -> Any:
    types = spec.get("type", "string")
    types = types if isinstance(types, list) else [types]
    if "null" in types and raw in ("null", "none", "None"):
        return None
    for t in types:
        if t == "integer":
            try:
                return int(raw)
            except ValueError:
                continue
        if t == "number":
            try:
                number = float(raw)
            except ValueError:
                continue
            if math.isfinite(number):  # nan, inf and 1e999 are no settings
                return number
        if t == "boolean":
            if raw.lower() in ("true", "1", "yes", "on"):
                return True
            if raw.lower() in ("false", "0", "no", "off"):
                return False
            continue
        if t == "array":  # a list of words: q,k,v
            return [word.strip() for word in raw.split(",")] if raw.strip() else []
        if t == "string":
            return raw
    raise ConfigError([(key, f'"{raw}" is not a valid {" or ".join(types)}')])


def apply_overrides(cfg: dict, overrides: list[str]) -> dict:
    """`group.key=value` pairs (group.sub.key for a group within a group: train.lora.rank), each
    value coerced by the schema's type for that key."""
    schema = load_schema()
    cfg = copy.deepcopy(cfg)
    problems: list[tuple[str, str]] = []
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        group, dot, name = key.partition(".")
        if not sep or not dot or not name:
            problems.append((key or "--set", f'--set takes group.key=value, got "{item}"'))
            continue
        gspec = schema["properties"].get(group)
        if gspec is None or gspec.get("type") != "object":
            groups = [g for g, s in schema["properties"].items() if s.get("type") == "object"]
            problems.append((key, f'unknown group "{group}"; groups: {", ".join(groups)}'))
            continue
        names, spec, where = name.split("."), gspec, group
        for part in names:
            keys = spec.get("properties", {})
            if part not in keys:
                problems.append((key, f'unknown key "{part}" in {where}; keys: {", ".join(keys)}'))
                break
            spec, where = keys[part], f"{where}.{part}"
        else:
            try:
                value = _coerce(raw, spec, key)
            except ConfigError as e:
                problems.extend(e.problems)
                continue
            node = cfg
            for part in [group, *names[:-1]]:
                if not isinstance(node.get(part), dict):
                    node[part] = {}
                node = node[part]
            node[names[-1]] = value
    if problems:
        raise ConfigError(problems)
    return cfg


def _fill(value: Any, spec: dict) -> Any:
    if isinstance(value, dict) and spec.get("type") == "object":
        for name, sub in spec.get("properties", {}).items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                value[name] = _fill(value[name], sub)
    return value


def fill_defaults(cfg: dict) -> dict:
    return _fill(copy.deepcopy(cfg), load_schema())


def _key_of(error: jsonschema.ValidationError) -> tuple[str, str]:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties":
        extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
        name = (extra[0] or '""') if extra else ""  # an empty key is still named
        key = ".".join(filter(None, [path, name]))
        allowed = ", ".join(error.schema.get("properties", {}))
        return key, f"unknown key (allowed here: {allowed})"
    return path or "(config)", error.message


def validate(cfg: dict) -> None:
    """Schema errors and semantic errors, all at once; raises ConfigError."""
    validator = jsonschema.Draft7Validator(load_schema())
    errors = sorted(validator.iter_errors(cfg), key=lambda e: [str(p) for p in e.absolute_path])
    problems = [_key_of(e) for e in errors] + _non_finite(cfg, "") + _nul_paths(cfg)
    if not problems:
        problems = semantic_problems(RunConfig.from_dict(cfg))
    if problems:
        raise ConfigError(problems)


def _non_finite(value: Any, key: str) -> list[tuple[str, str]]:
    """NaN and the infinities (a dict built in Python may hold them; JSON cannot): the schema's
    bounds let them through, since every comparison with NaN is false."""
    if isinstance(value, float) and not math.isfinite(value):
        return [(key or "(config)", f"{value} is not a finite number")]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _non_finite(v, f"{key}.{k}" if key else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _non_finite(v, f"{key}.{i}")]
    return []


def _nul_paths(cfg: dict) -> list[tuple[str, str]]:
    """A NUL character cannot be in a path (the OS refuses it)."""
    problems = []
    for group, key in (("data", "dataset"), ("train", "init_from")):
        value = cfg[group].get(key) if isinstance(cfg.get(group), dict) else None
        if isinstance(value, str) and "\x00" in value:
            problems.append((f"{group}.{key}", "holds a NUL character, which no path can; fix the path"))
    return problems


def semantic_problems(cfg: RunConfig) -> list[tuple[str, str]]:
    """The cross-field checks, in src/core/train/config.ts's order and words (its numbers as JavaScript
    writes them: an integer given as 30.0 reads 30 on both sides)."""
    m, t, o, d = cfg.model, cfg.train, cfg.optimizer, cfg.distributed
    js = js_number
    problems = []
    if m.head_dim is None and m.n_embd % m.n_head:
        message = f"{js(m.n_embd)} is not divisible by model.n_head {js(m.n_head)}; make it a multiple"
        problems.append(("model.n_embd", message))
    if m.n_kv_head is not None and m.n_head % m.n_kv_head:
        message = f"{js(m.n_kv_head)} does not divide model.n_head {js(m.n_head)}; make it a divisor"
        problems.append(("model.n_kv_head", message))
    head = m.head_dim if m.head_dim is not None else m.n_embd / m.n_head
    if m.position == "rope" and head % 2 == 1:
        message = "rope turns a head's dimensions in pairs, so the head size must be even"
        if m.head_dim is not None:
            problems.append(("model.head_dim", f"{js(head)} is odd: model.position {message}"))
        else:
            message = (
                f"{js(m.n_embd)} / model.n_head {js(m.n_head)} is {js(head)}, odd: model.position {message}"
            )
            problems.append(("model.n_embd", message))
    if o.min_lr > o.learning_rate:
        message = f"{js(o.min_lr)} exceeds optimizer.learning_rate {js(o.learning_rate)}; lower it"
        problems.append(("optimizer.min_lr", message))
    if o.lr_decay_iters is not None and o.lr_decay_iters < o.warmup_iters:
        problems.append(("optimizer.lr_decay_iters", "must be at least optimizer.warmup_iters"))
    if t.time_budget_s is not None and o.decay_lr and t.max_iters <= o.warmup_iters:
        message = (
            f"{js(t.max_iters)} ends the run within its warmup "
            f"(optimizer.warmup_iters {js(o.warmup_iters)}), "
            "before train.time_budget_s is used; raise it well beyond the warmup"
        )
        problems.append(("train.max_iters", message))
    if d.node_rank >= d.nnodes:
        problems.append(("distributed.node_rank", f"must be below distributed.nnodes ({js(d.nnodes)})"))
    world = d.nproc_per_node * d.nnodes
    if t.gradient_accumulation_steps % world:
        message = (
            f"{js(t.gradient_accumulation_steps)} must be a multiple of the {js(world)} processes "
            "(it counts micro-batches over all processes)"
        )
        problems.append(("train.gradient_accumulation_steps", message))
    if o.name == "muon" and d.backend == "deepspeed":
        message = (
            "muon cannot run under distributed.backend deepspeed (ZeRO flattens the matrices Muon "
            "orthogonalises); use adamw, or backend ddp"
        )
        problems.append(("optimizer.name", message))
    if t.lora.rank is not None:
        problems += lora_problems(t.init_from, o.name, d.backend)
    return problems


def lora_problems(init_from: str, optimizer: str, backend: str) -> list[tuple[str, str]]:
    """What train.lora (a rank set) cannot run with."""
    problems = []
    if init_from == "scratch":
        message = (
            "LoRA adapts pretrained weights, and train.init_from scratch has none; set train.init_from "
            "to gpt2*, a Hugging Face folder or resume, or train.lora.rank to null"
        )
        problems.append(("train.lora.rank", message))
    if optimizer == "muon":
        message = (
            "muon does not train LoRA's adapters (train.lora.rank is set): it orthogonalises whole "
            "hidden matrices, not low-rank factors; use adamw"
        )
        problems.append(("optimizer.name", message))
    if backend != "ddp":
        message = (
            f"{backend} does not run LoRA (train.lora.rank is set): the frozen base is not sharded; "
            "use ddp, each process holding the base once"
        )
        problems.append(("distributed.backend", message))
    return problems


def resolve_paths(cfg: dict, base: Path) -> dict:
    """data.dataset and a local init_from folder, relative to the config file's folder (a hub
    name stays as it is)."""
    cfg = copy.deepcopy(cfg)
    # before validation a group may be anything; validation names what is wrong with it
    data, train = cfg.get("data"), cfg.get("train")
    ds = data.get("dataset") if isinstance(data, dict) else None
    if isinstance(ds, str) and ds and "\x00" not in ds and not os.path.isabs(ds):
        data["dataset"] = str((base / ds).resolve())
    init = train.get("init_from") if isinstance(train, dict) else None
    if isinstance(init, str) and init not in INIT_KEYWORDS and "\x00" not in init and not os.path.isabs(init):
        # owner/name is a model on the hub, unless a folder of that name is there
        if not is_hub_name(init) or (base / init).is_dir():
            train["init_from"] = str((base / init).resolve())
    return cfg


def load_config(
    source: str | dict, overrides: list[str] | None = None, base: Path | None = None
) -> RunConfig:
    """The resolved configuration: every default filled, paths absolute, validated."""
    if isinstance(source, dict):
        cfg, folder = source, base or Path.cwd()
    else:
        cfg, folder, _ = read_source(source)
    # the file's relative paths resolve against its folder, those given by --set against the cwd
    cfg = resolve_paths(cfg, folder)
    cfg = resolve_paths(apply_overrides(cfg, overrides or []), Path.cwd())
    cfg = fill_defaults(fill_model(cfg))  # a pretrained model's shape first, then the schema's
    validate(cfg)
    return RunConfig.from_dict(resolve_paths(cfg, folder))


def config_name(source: str) -> str:
    """The name a default run folder carries: the file's without .json / .wordplay.json, the
    preset's, or "config" for JSON text."""
    if is_inline(source):
        return "config"
    path = Path(source)
    if path.is_file():
        return path.name.removesuffix(".json").removesuffix(".wordplay")
    return source
