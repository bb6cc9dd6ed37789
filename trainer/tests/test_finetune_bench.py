"""The fine-tuning benchmark's reference loop (check/finetune_bench.py) does what the same run
config asks of our trainer: on a tiny random Llama, the same weights and batches give the same
first loss on both sides, a full fine-tune follows the same AdamW steps, and LoRA adapts the
projections train.lora.targets names (PEFT's parameter count)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import by_type, read_events, run_trainer, write_config
from hf_models import TEXT, hf_config, write_tokenizer

from wordplay_trainer.check.finetune_bench import reference_run
from wordplay_trainer.train.config import load_config


@pytest.fixture(scope="module")
def llama(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny Llama folder and a dataset of TEXT in its tokenizer, as prepare writes one."""
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM

    root = tmp_path_factory.mktemp("finetune")
    folder = root / "model"
    write_tokenizer(folder)
    # a vocabulary of whole 64s, as SmolLM2's: our head pads to them, and a padded row's zero
    # logit would count in our loss and not in theirs
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(hf_config("llama", 320)).save_pretrained(folder, safe_serialization=True)
    data = root / "data"
    data.mkdir()
    shutil.copy(folder / "tokenizer.json", data / "tokenizer.json")
    ids = np.array(Tokenizer.from_file(str(folder / "tokenizer.json")).encode(TEXT * 4).ids, dtype=np.uint16)
    split = len(ids) * 9 // 10
    ids[:split].tofile(data / "train.bin")
    ids[split:].tofile(data / "val.bin")
    (data / "meta.json").write_text("{}")
    return folder, data


def config(folder: Path, data: Path, lora: dict) -> dict:
    return {
        "data": {"dataset": str(data)},
        "model": {"block_size": 16, "dropout": 0.0},
        "train": {
            "init_from": str(folder),
            "batch_size": 2,
            "max_iters": 3,
            "eval_interval": 3,
            "eval_iters": 1,
            "log_interval": 1,
            "sample_tokens": 0,
            "keep_exports": 0,
            "device": "cpu",
            "dtype": "float32",
            "compile": "false",
            "lora": lora,
        },
        "optimizer": {"learning_rate": 1e-3, "warmup_iters": 0, "decay_lr": False, "grad_clip": 1.0},
    }


def both(tmp_path: Path, cfg: dict) -> tuple[list[float], dict]:
    path = write_config(tmp_path / "cfg.json", cfg)
    assert run_trainer(path, tmp_path / "run") == 0
    ours = [e["loss"] for e in by_type(read_events(tmp_path / "run"), "train")]
    theirs = reference_run(load_config(str(path)))
    json.dumps(theirs)  # the command prints it
    return ours, theirs


def test_a_full_fine_tune_takes_the_same_steps(llama, tmp_path, monkeypatch):
    monkeypatch.setenv("WORDPLAY_SKIP_EXPORT", "1")
    ours, theirs = both(tmp_path, config(*llama, {"rank": None}))
    assert len(theirs["dt_s"]) == len(theirs["losses"]) == 3
    assert theirs["tokens_per_iter"] == 2 * 16
    assert theirs["n_trainable"] == theirs["n_params"]
    assert theirs["peak_rss_bytes"] > 0
    # the same weights, batches, AdamW and clipping: the same losses, step after step
    assert theirs["losses"] == pytest.approx(ours, abs=1e-4)
    assert theirs["losses"][-1] < theirs["losses"][0]


def test_lora_adapts_the_named_projections(llama, tmp_path, monkeypatch):
    monkeypatch.setenv("WORDPLAY_SKIP_EXPORT", "1")
    ours, theirs = both(tmp_path, config(*llama, {"rank": 4, "alpha": 8, "targets": ["q", "v", "down"]}))
    # the adapters start at zero: the base model's loss on the same first batch
    assert theirs["losses"][0] == pytest.approx(ours[0], abs=1e-4)
    # 2 layers, rank 4: q 64 -> 64, v 64 -> 2 heads of 16, down 96 -> 64
    assert theirs["n_trainable"] == 2 * 4 * ((64 + 64) + (64 + 32) + (96 + 64))
