"""The run configuration: loaded from a file or a preset, `--set group.key=value` overrides
coerced by the schema's types, validated against schemas/run-config.schema.json (every error
listed at once, each naming its key), defaults filled from the schema, semantic checks."""

from __future__ import annotations

import copy
import functools
import json
import math
import os
from pathlib import Path
from typing import Any

import jsonschema

from .errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
PRESETS_DIR = PACKAGE_DIR / "presets"
INIT_KEYWORDS = ("scratch", "resume", "gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")


def schema_path() -> Path:
    """schemas/run-config.schema.json at the package root (two folders above this one), or
    WORDPLAY_SCHEMA_DIR when the trainer runs from somewhere else."""
    base = os.environ.get("WORDPLAY_SCHEMA_DIR")
    root = Path(base) if base else PACKAGE_DIR.parents[1] / "schemas"
    return root / "run-config.schema.json"


@functools.cache
def load_schema() -> dict:
    return json.loads(schema_path().read_text(encoding="utf-8"))


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.json"))


def _not_json(constant: str):
    # Python's json reads NaN and Infinity, which JSON (and the extension's parser) refuses
    raise json.JSONDecodeError(f"{constant} is not a JSON value", constant, 0)


def read_source(source: str) -> tuple[dict, Path, str]:
    """A config file path or a preset name -> (config, base folder for relative paths, name)."""
    path = Path(source)
    if path.is_file():
        try:
            cfg = json.loads(path.read_text(encoding="utf-8"), parse_constant=_not_json)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ConfigError([(str(path), f"not valid JSON ({e}); fix the file")]) from None
        if not isinstance(cfg, dict):
            raise ConfigError([(str(path), "must hold a JSON object with the groups data, model, train ...")])
        name = path.name.removesuffix(".json").removesuffix(".wordplay")
        return cfg, path.resolve().parent, name
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
        if t == "string":
            return raw
    raise ConfigError([(key, f'"{raw}" is not a valid {" or ".join(types)}')])


def apply_overrides(cfg: dict, overrides: list[str]) -> dict:
    """`group.key=value` pairs, each value coerced by the schema's type for that key."""
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
        spec = gspec["properties"].get(name)
        if spec is None:
            problems.append((key, f'unknown key "{name}" in {group}; keys: {", ".join(gspec["properties"])}'))
            continue
        try:
            cfg.setdefault(group, {})[name] = _coerce(raw, spec, key)
        except ConfigError as e:
            problems.extend(e.problems)
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
        problems = semantic_problems(cfg)
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


def semantic_problems(cfg: dict) -> list[tuple[str, str]]:
    m, t, o, d = cfg["model"], cfg["train"], cfg["optimizer"], cfg["distributed"]
    problems = []
    if m["n_embd"] % m["n_head"]:
        problems.append(
            (
                "model.n_embd",
                f"{m['n_embd']} is not divisible by model.n_head {m['n_head']}; make it a multiple",
            )
        )
    if o["min_lr"] > o["learning_rate"]:
        problems.append(
            (
                "optimizer.min_lr",
                f"{o['min_lr']} exceeds optimizer.learning_rate {o['learning_rate']}; lower it",
            )
        )
    if o["lr_decay_iters"] is not None and o["lr_decay_iters"] < o["warmup_iters"]:
        problems.append(("optimizer.lr_decay_iters", "must be at least optimizer.warmup_iters"))
    if d["node_rank"] >= d["nnodes"]:
        problems.append(("distributed.node_rank", f"must be below distributed.nnodes ({d['nnodes']})"))
    world = d["nproc_per_node"] * d["nnodes"]
    if t["gradient_accumulation_steps"] % world:
        problems.append(
            (
                "train.gradient_accumulation_steps",
                f"{t['gradient_accumulation_steps']} must be a multiple of the {world} processes "
                "(it counts micro-batches over all processes)",
            )
        )
    return problems


def resolve_paths(cfg: dict, base: Path) -> dict:
    """data.dataset and a local init_from folder, relative to the config file's folder."""
    cfg = copy.deepcopy(cfg)
    # before validation a group may be anything; validation names what is wrong with it
    data, train = cfg.get("data"), cfg.get("train")
    ds = data.get("dataset") if isinstance(data, dict) else None
    if isinstance(ds, str) and ds and "\x00" not in ds and not os.path.isabs(ds):
        data["dataset"] = str((base / ds).resolve())
    init = train.get("init_from") if isinstance(train, dict) else None
    if isinstance(init, str) and init not in INIT_KEYWORDS and "\x00" not in init and not os.path.isabs(init):
        train["init_from"] = str((base / init).resolve())
    return cfg


def load_config(source: str | dict, overrides: list[str] | None = None, base: Path | None = None) -> dict:
    """The resolved configuration: every default filled, paths absolute, validated."""
    if isinstance(source, dict):
        cfg, folder = source, base or Path.cwd()
    else:
        cfg, folder, _ = read_source(source)
    # the file's relative paths resolve against its folder, those given by --set against the cwd
    cfg = resolve_paths(cfg, folder)
    cfg = resolve_paths(apply_overrides(cfg, overrides or []), Path.cwd())
    cfg = fill_defaults(cfg)
    validate(cfg)
    return resolve_paths(cfg, folder)


def config_name(source: str) -> str:
    path = Path(source)
    if path.is_file():
        return path.name.removesuffix(".json").removesuffix(".wordplay")
    return source
