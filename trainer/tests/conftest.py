"""Shared test helpers: tiny dataset dirs built per the contract, tiny configs, event reading."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

TRAINER_DIR = Path(__file__).resolve().parents[1]
CORPUS_DIR = TRAINER_DIR.parent / "corpus"
PRESETS_DIR = TRAINER_DIR / "wordplay_trainer" / "presets"
if str(TRAINER_DIR) not in sys.path:
    sys.path.insert(0, str(TRAINER_DIR))

# exporting after each tiny run would only slow the tests; one test turns it back on
os.environ.setdefault("WORDPLAY_SKIP_EXPORT", "1")

TEXT = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
    "First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\nResolved. resolved.\n\n"
) * 40


def shakespeare_text() -> str:
    """The project's own tiny Shakespeare (corpus/), decompressed and checked against the sha256
    that corpus/tinyshakespeare.json records for it (the file TypeScript reads too)."""
    corpus = json.loads((CORPUS_DIR / "tinyshakespeare.json").read_text())
    text = gzip.decompress((CORPUS_DIR / corpus["file"]).read_bytes())
    digest = hashlib.sha256(text).hexdigest()
    assert digest == corpus["sha256"], f"{corpus['file']} is damaged: sha256 {digest}, not {corpus['sha256']}"
    return text.decode("utf-8")


def write_char_dataset(text: str, out: Path) -> Path:
    """A char-level dataset dir exactly as `wordplay prepare` writes it: vocab = sorted
    distinct characters, first 90% of the characters train, last 10% val, uint16."""
    out.mkdir(parents=True, exist_ok=True)
    vocab = sorted(set(text))
    index = {ch: i for i, ch in enumerate(vocab)}
    ids = np.array([index[ch] for ch in text], dtype=np.uint16)
    n = int(len(text) * 0.9)
    ids[:n].astype("<u2").tofile(out / "train.bin")
    ids[n:].astype("<u2").tofile(out / "val.bin")
    (out / "tokenizer.json").write_text(json.dumps({"type": "char", "vocab": vocab}))
    meta = {
        "source": ["test"],
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "tokenizer": "char",
        "vocab_size": len(vocab),
        "dtype": "uint16",
        "documents": 1,
        "characters": len(text),
        "train_characters": n,
        "train_tokens": n,
        "val_tokens": len(text) - n,
        "created": "2026-01-01T00:00:00Z",
    }
    (out / "meta.json").write_text(json.dumps(meta))
    return out


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return write_char_dataset(TEXT, tmp_path / "data")


# Today's architecture and Muon, as the shakespeare-char-cpu preset ships them (its shape aside)
_RECIPE = json.loads((PRESETS_DIR / "shakespeare-char-cpu.json").read_text())
MUON_RECIPE = {
    "model": {
        k: v for k, v in _RECIPE["model"].items() if k not in ("n_layer", "n_head", "n_embd", "block_size")
    },
    "optimizer": {"name": "muon"},
}


def tiny_config(dataset: Path, **groups) -> dict:
    """A config small enough to train a few dozen iterations in about a second."""
    cfg = {
        "data": {"dataset": str(dataset)},
        "model": {"n_layer": 1, "n_head": 2, "n_embd": 16, "block_size": 16, "dropout": 0.0},
        "train": {
            "batch_size": 4,
            "max_iters": 20,
            "eval_interval": 10,
            "eval_iters": 2,
            "log_interval": 5,
            "sample_tokens": 8,
            "device": "cpu",
            "dtype": "float32",
            "compile": "false",
        },
        "optimizer": {"learning_rate": 0.003, "min_lr": 0.0003, "warmup_iters": 2},
    }
    for group, values in groups.items():
        cfg.setdefault(group, {}).update(values)
    return cfg


def write_config(path: Path, cfg: dict) -> Path:
    path.write_text(json.dumps(cfg))
    return path


def run_trainer(cfg_path: Path, run_dir: Path, *sets: str) -> int:
    """`python -m wordplay_trainer train --config C --run-dir D --set ...`, in this process."""
    from wordplay_trainer import cli

    args = ["--config", str(cfg_path), "--run-dir", str(run_dir)]
    for s in sets:
        args += ["--set", s]
    return cli.main(args)


def read_events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


def by_type(events: list[dict], type_: str) -> list[dict]:
    return [e for e in events if e["type"] == type_]


def trainer_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TRAINER_DIR), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env["OMP_NUM_THREADS"] = "1"
    return env
