"""Issue 3 points 8, 9, 10 and 12 (deepspeed message), in-process on the CPU: the loop's
pieces (learning-rate schedule, weight decay, gradient accumulation, autocast) and every failure
ending in an error event that names the key at fault."""

import dataclasses
import sys

import numpy as np
import pytest
import torch
from conftest import (
    by_type,
    char_dataset,
    last_error,
    read_events,
    run_trainer,
    tiny_config,
    write_config,
)

from wordplay_trainer.train.config import load_config
from wordplay_trainer.train.loop import Trainer
from wordplay_trainer.train.model import GPT, GPTConfig
from wordplay_trainer.train.optimizer import learning_rate, make_optimizer

# ---- the loop's pieces ----------------------------------------------------------------------


def test_learning_rate_schedule():
    opt = dataclasses.replace(
        load_config({}).optimizer, learning_rate=1.0, min_lr=0.1, warmup_iters=10, lr_decay_iters=110
    )
    lr = [learning_rate(i, opt, 200) for i in range(200)]
    assert lr[0] == pytest.approx(1 / 11) and lr[9] == pytest.approx(10 / 11)
    assert lr[10] == pytest.approx(1.0)
    assert lr[60] == pytest.approx(0.55)  # half way down the cosine
    assert lr[110] == lr[199] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(lr[10:], lr[11:], strict=False))
    assert learning_rate(5, dataclasses.replace(opt, decay_lr=False), 200) == 1.0


def test_weight_decay_only_on_matrices():
    model = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=8, bias=True))
    cfg = load_config({}, []).optimizer
    optimizer = make_optimizer(model, cfg, torch.device("cpu"))
    decay, no_decay = optimizer.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() >= 2 for p in decay["params"]) and all(p.dim() < 2 for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


def test_gradient_accumulation_scales_the_loss(tmp_path, dataset):
    """2 micro-batches of 2 accumulate to the same step as one batch of 4."""
    base = tiny_config(dataset, train={"log_interval": 1, "max_iters": 6, "eval_interval": 100})
    cfg = write_config(tmp_path / "c.json", base)
    assert run_trainer(cfg, tmp_path / "a", "train.batch_size=4", "train.gradient_accumulation_steps=1") == 0
    assert run_trainer(cfg, tmp_path / "b", "train.batch_size=2", "train.gradient_accumulation_steps=2") == 0
    a = [e["loss"] for e in by_type(read_events(tmp_path / "a"), "train")]
    b = [e["loss"] for e in by_type(read_events(tmp_path / "b"), "train")]
    assert np.allclose(a, b, atol=1e-5)
    assert by_type(read_events(tmp_path / "b"), "start")[0]["tokens_per_iter"] == 2 * 2 * 16


def test_cuda_without_gpu_is_an_error_event(tmp_path, dataset, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # whatever this machine has
    cfg = write_config(tmp_path / "c.json", tiny_config(dataset))
    assert run_trainer(cfg, tmp_path / "run", "train.device=cuda") == 1
    assert last_error(tmp_path / "run")["key"] == "train.device"


def test_bf16_autocast_on_cpu(tmp_path, dataset):
    cfg = write_config(tmp_path / "c.json", tiny_config(dataset, train={"max_iters": 4, "dtype": "bfloat16"}))
    assert run_trainer(cfg, tmp_path / "run") == 0
    assert read_events(tmp_path / "run")[0]["dtype"] == "bfloat16"


# ---- bad input and failures, each an error event naming its key -----------------------------


def test_invalid_config_lists_every_problem(tmp_path, dataset):
    bad = tiny_config(dataset, model={"n_embd": 30, "n_head": 4, "colour": "blue"})
    bad["optimizer"]["learning_rate"] = -0.1
    cfg = write_config(tmp_path / "c.json", bad)
    assert run_trainer(cfg, tmp_path / "run") == 1
    error = last_error(tmp_path / "run")
    assert "model.colour" in error["message"] and "optimizer.learning_rate" in error["message"]
    assert run_trainer(cfg, tmp_path / "run2", "model.colour=x") == 1  # --set of an unknown key
    assert "model.colour" in last_error(tmp_path / "run2")["message"]
    good = write_config(tmp_path / "g.json", tiny_config(dataset, model={"n_embd": 30, "n_head": 4}))
    assert run_trainer(good, tmp_path / "run3") == 1
    assert last_error(tmp_path / "run3")["key"] == "model.n_embd"


def test_missing_or_malformed_dataset(tmp_path, dataset):
    cfg = write_config(tmp_path / "c.json", tiny_config(tmp_path / "nowhere"))
    assert run_trainer(cfg, tmp_path / "run") == 1
    assert last_error(tmp_path / "run")["key"] == "data.dataset"
    (dataset / "meta.json").write_text("[1,")
    cfg = write_config(tmp_path / "c2.json", tiny_config(dataset))
    assert run_trainer(cfg, tmp_path / "run2") == 1
    assert last_error(tmp_path / "run2")["key"].endswith("meta.json")


def test_block_size_not_below_val_split(tmp_path):
    ds = char_dataset("abcd" * 100, tmp_path / "d")  # 40 val tokens
    cfg = write_config(tmp_path / "c.json", tiny_config(ds, model={"block_size": 64}))
    assert run_trainer(cfg, tmp_path / "run") == 1
    error = last_error(tmp_path / "run")
    assert error["key"] == "model.block_size" and "at most 39" in error["message"]


def test_nan_loss_stops_with_the_iteration_named(tmp_path, dataset, monkeypatch):
    real_forward = GPT.forward
    calls = {"n": 0}

    def forward(self, idx, targets=None):
        logits, loss = real_forward(self, idx, targets)
        if targets is not None and self.training:
            calls["n"] += 1
            if calls["n"] > 5:
                loss = loss * float("nan")
        return logits, loss

    monkeypatch.setattr(GPT, "forward", forward)
    cfg = write_config(tmp_path / "c.json", tiny_config(dataset))
    assert run_trainer(cfg, tmp_path / "run") == 1
    error = last_error(tmp_path / "run")
    assert error["iter"] == 5 and "iteration 5" in error["message"]
    assert error["key"] == "optimizer.learning_rate" and "Lower" in error["message"]
    assert not (tmp_path / "run" / "checkpoint").exists()


def test_out_of_memory_names_batch_and_block(tmp_path, dataset, monkeypatch):
    def oom(self):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(Trainer, "train_step", oom)
    cfg = write_config(tmp_path / "c.json", tiny_config(dataset))
    assert run_trainer(cfg, tmp_path / "run") == 1
    message = last_error(tmp_path / "run")["message"]
    assert "train.batch_size 4" in message and "model.block_size 16" in message
    assert "gradient_accumulation_steps" in message


def test_deepspeed_missing_says_how_to_install(tmp_path, dataset, monkeypatch):
    monkeypatch.setitem(sys.modules, "deepspeed", None)  # import fails even if installed
    cfg = write_config(tmp_path / "c.json", tiny_config(dataset, distributed={"backend": "deepspeed"}))
    assert run_trainer(cfg, tmp_path / "run") == 1
    error = last_error(tmp_path / "run")
    assert error["key"] == "distributed.backend" and "pip install deepspeed" in error["message"]
