"""`python -m wordplay_trainer size --dataset <dir> --minutes N [--device auto] [--recalibrate]`

Train for…'s plan: the model, batch and learning rates for training on a dataset for N minutes
(fractions too) on this machine (train/sizing.py's rule), as one JSON object on stdout: the run
config to train with (train.time_budget_s set), the shape, parameters, estimated tokens and the
expected val loss. The candidates' throughput is measured first, smallest first, until one no
longer fits the budget (check/calibrate.py; kept in wordplay's cache folder, WORDPLAY_CACHE_DIR or
the platform's, so a second plan starts at once);
its lines go to stderr.

Exit codes: 0 a plan; 3 the budget is too short to train even the smallest model: stdout holds
{"refused": why, "shortest_budget_s": s, "shortest_minutes": m}; 1 a problem with the dataset or
device (one line on stderr); 2 a bad option.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from ..check.calibrate import Calibration, default_cache_file
from ..common.compute import resolve_device
from ..common.errors import TrainerError
from ..common.log import log
from ..prepare.dataset import Dataset, tokenizer_kind
from ..train import sizing
from ..train.config import PRESETS_DIR, load_config

RECIPE = "shakespeare-char-cpu"  # the preset whose architecture and optimizer every plan takes
ARCHITECTURE_KEYS = ("bias", "position", "norm", "qk_norm", "mlp", "tie_embeddings", "zero_init")
# beyond the preset, which stays exportable to Hugging Face and GGUF, for char datasets only:
# U-net skips won 0.014 nats of val loss in 120 s on tiny Shakespeare (char) on the CPU, side by
# side, and lost 0.03 bits per byte in 300 s on the Python standard library's BPE (BENCHMARKS.md)
CHAR_RECORD_OPTIONS = {"skip_connections": True}


def plan_architecture(recipe: dict, kind: str) -> dict:
    """The model options of a plan for a dataset of this tokenizer kind: the recipe preset's,
    and for char datasets CHAR_RECORD_OPTIONS."""
    architecture = {k: recipe["model"][k] for k in ARCHITECTURE_KEYS}
    return {**architecture, **CHAR_RECORD_OPTIONS} if kind == "char" else architecture


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m wordplay_trainer size", description="Size a run for a time budget."
    )
    p.add_argument("--dataset", required=True, help="a prepared dataset folder")
    p.add_argument("--minutes", required=True, help="the time budget in minutes (0.5 is 30 seconds)")
    p.add_argument("--device", default="auto", help="auto, cpu, mps, cuda or cuda:N (default auto)")
    p.add_argument(
        "--recalibrate", action="store_true", help="measure this machine again, ignoring the cache"
    )
    return p.parse_args(argv)


def minutes_of(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def dataset_facts(path: Path) -> tuple[Dataset, sizing.Dataset]:
    ds = Dataset(path)
    ratio = ds.val_tokens_per_byte
    facts = sizing.Dataset(
        kind=tokenizer_kind(ds.tokenizer),
        vocab_size=ds.vocab_size,
        train_tokens=ds.tokens("train"),
        val_tokens=ds.tokens("val"),
        bytes_per_token=1 / ratio if ratio else 1.0,
    )
    return ds, facts


def plan(dataset: Path, budget_s: float, device_name: str, calibration: Calibration) -> tuple[dict, int]:
    """(the plan or the refusal, the exit code)."""
    ds, data = dataset_facts(dataset)
    recipe = json.loads((PRESETS_DIR / f"{RECIPE}.json").read_text(encoding="utf-8"))
    architecture = plan_architecture(recipe, data.kind)
    optimizer = load_config(RECIPE).optimizer
    device = calibration.device
    estimates: list[sizing.Estimate] = []
    for c in sizing.candidates(data, device.type, architecture):
        tps = calibration.tokens_per_s(c, optimizer, architecture, say=log)
        if tps <= 0:
            break  # out of the device's memory, and so is every larger one
        estimates.append(sizing.estimate(c, tps, budget_s))
        if not sizing.fits(estimates[-1], data):
            break  # and no larger one fits
    timing = {"calibration_s": round(calibration.measured_s, 1), "cached_shapes": calibration.cached}
    chosen = sizing.choose(estimates, data)
    if chosen is None:
        smallest = estimates[0] if estimates else None
        if smallest is None:
            raise TrainerError(
                f"not even the smallest model fits in {device}'s memory; size for another device "
                "(--device cpu)",
                "--device",
            )
        shortest = sizing.shortest_budget_s(smallest.candidate, smallest.tokens_per_s, data)
        why = (
            f"{budget_s / 60:g} minutes is too short to train anything on {dataset} here: the smallest "
            f"model ({smallest.candidate.name}, {smallest.candidate.params:,} parameters) needs about "
            f"{shortest:g} s ({shortest / 60:.2g} minutes) at {smallest.tokens_per_s:,.0f} tokens/s; "
            "give at least that"
        )
        return {"refused": why, "shortest_budget_s": shortest, "shortest_minutes": shortest / 60, **timing}, 3
    c = chosen.candidate
    config = sizing.run_config(chosen, data, str(ds.path.resolve()), recipe, device_name)
    load_config(json.loads(json.dumps(config)))  # a plan is always a valid config
    useful = sizing.useful_tokens(chosen, data)
    result = {
        "config": config,
        "dataset": str(ds.path.resolve()),
        "tokenizer": data.kind,
        "device": str(device),
        "machine": calibration.machine,
        "budget_s": budget_s,
        "shape": {"n_layer": c.n_layer, "n_head": c.n_head, "n_embd": c.n_embd, "block_size": c.block_size},
        "params": c.params,
        "params_total": c.params_total,
        "batch_size": chosen.batch_size,
        "gradient_accumulation_steps": chosen.accumulation,
        "tokens_per_step": chosen.tokens_per_step,
        "tokens_per_s": round(chosen.tokens_per_s, 1),
        "train_s": round(chosen.train_s, 1),
        "steps": chosen.steps,
        "tokens": chosen.tokens,
        "epochs": round(chosen.tokens / data.train_tokens, 3),
        "tokens_per_param": round(sizing.tokens_per_param(chosen, data), 2),
        "bytes_per_param": round(sizing.bytes_per_param(chosen, data), 2),
        "rule_bytes_per_param": sizing.BYTES_PER_PARAM,
        "expected_val_loss": round(sizing.expected_val_loss(c.params, useful, data), 3),
        "candidates": [
            {
                "shape": e.candidate.name,
                "params": e.candidate.params,
                "tokens_per_s": round(e.tokens_per_s, 1),
                "tokens": e.tokens,
                "tokens_per_param": round(sizing.tokens_per_param(e, data), 2),
                "bytes_per_param": round(sizing.bytes_per_param(e, data), 2),
                "fits": sizing.fits(e, data),
            }
            for e in estimates
        ],
        **timing,
    }
    return result, 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    minutes = minutes_of(args.minutes)
    if minutes is None:
        log(
            "wordplay size: error: --minutes must be a positive number of minutes (0.5 is 30 seconds), "
            f'got "{args.minutes}"'
        )
        return 2
    try:
        device = resolve_device(args.device)
        calibration = Calibration(default_cache_file(), device, "auto", fresh=args.recalibrate)
        result, code = plan(Path(args.dataset), minutes * 60, args.device, calibration)
    except TrainerError as e:
        log(f"wordplay size: error: {e.message}")
        return 1
    if code == 3:
        log(f"wordplay size: {result['refused']}")
    print(json.dumps(result, indent=2))
    return code
