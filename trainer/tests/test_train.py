"""Issue 3 points 4, 6, 8, 9, 10, 12 (deepspeed message), 13 and 14, in-process on the CPU."""

import dataclasses
import json
import math
import os
import sys
import types
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import torch
from conftest import (
    MUON_RECIPE,
    TEXT,
    by_type,
    read_events,
    run_trainer,
    tiny_config,
    write_char_dataset,
    write_config,
)

from wordplay_trainer import checkpoint as ckpt
from wordplay_trainer import cli, common
from wordplay_trainer import train as train_mod
from wordplay_trainer.config import load_config
from wordplay_trainer.errors import TrainerError
from wordplay_trainer.model import GPT, GPTConfig
from wordplay_trainer.rundir import RunDir

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "events.schema.json").read_text())


def last_error(run_dir: Path) -> dict:
    events = read_events(run_dir)
    assert events[-1] == {**events[-1], "type": "done", "reason": "error"}
    return by_type(events, "error")[-1]


# ---- a whole run: the run-dir contract --------------------------------------------------


def test_run_writes_the_contract(tmp_path, dataset, capsys):
    cfg = write_config(tmp_path / "c.json", tiny_config(dataset))
    assert run_trainer(cfg, tmp_path / "run") == 0
    events = read_events(tmp_path / "run")
    for e in events:
        jsonschema.validate(e, SCHEMA)
    types_ = [e["type"] for e in events]
    assert types_[0] == "start" and types_[-1] == "done" and events[-1]["reason"] == "finished"
    assert {"train", "eval", "checkpoint", "sample"} <= set(types_)
    start = events[0]
    assert start["pid"] == os.getpid() and start["device"] == "cpu" and start["dtype"] == "float32"
    assert start["tokens_per_iter"] == 4 * 16
    # the environment the run card compares
    assert start["torch"] == torch.__version__ and start["threads"] == torch.get_num_threads()
    assert [e["iter"] for e in by_type(events, "train")] == [5, 10, 15, 20]
    assert [e["iter"] for e in by_type(events, "eval")] == [10, 20]
    assert all(e["mfu"] is None for e in by_type(events, "train"))  # CPU: no peak, no figure
    sample = by_type(events, "sample")[0]["tokens"]
    assert len(sample) == 8 and max(sample) < len(set(TEXT))
    # config.json: the resolved config, every default filled
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config == load_config(str(cfg)).as_dict()
    # checkpoint: safetensors + JSON only, never pickle
    files = sorted(p.name for p in (tmp_path / "run" / "checkpoint").iterdir())
    assert files == ["model.safetensors", "optimizer.json", "optimizer.safetensors", "state.json"]
    state = json.loads((tmp_path / "run" / "checkpoint" / "state.json").read_text())
    assert state["iteration"] == 20 and state["tokenizer"]["type"] == "char"
    assert set(state["rng"][0]) >= {"python", "numpy", "torch", "data"}
    model, st = ckpt.load_model(tmp_path / "run")
    assert not model.training and st["model_args"]["n_embd"] == 16
    err = capsys.readouterr().err
    assert "iter 5/20 | loss" in err and "eval 20: train loss" in err


def test_default_run_dir(tmp_path, dataset, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = write_config(tmp_path / "tiny.wordplay.json", tiny_config(dataset, train={"max_iters": 2}))
    assert cli.main(["--config", str(cfg)]) == 0
    (found,) = (tmp_path / "runs").iterdir()
    assert found.name.endswith("-tiny") and (found / "events.jsonl").exists()


def test_config_given_as_json_text(tmp_path, dataset):
    """How the extension launches a run: its resolved config as --config's text, written to
    config.json by the trainer alone."""
    resolved = load_config(tiny_config(dataset, train={"max_iters": 2})).as_dict()
    assert run_trainer(json.dumps(resolved), tmp_path / "run", "train.max_iters=3") == 0
    assert json.loads((tmp_path / "run" / "config.json").read_text()) == {
        **resolved,
        "train": {**resolved["train"], "max_iters": 3},
    }
    assert read_events(tmp_path / "run")[-1]["iter"] == 3
    assert run_trainer("{not json", tmp_path / "bad") == 1
    assert last_error(tmp_path / "bad")["key"] == "--config"


# ---- the loop's pieces ------------------------------------------------------------------


def test_learning_rate_schedule():
    opt = dataclasses.replace(
        load_config({}).optimizer, learning_rate=1.0, min_lr=0.1, warmup_iters=10, lr_decay_iters=110
    )
    lr = [train_mod.learning_rate(i, opt, 200) for i in range(200)]
    assert lr[0] == pytest.approx(1 / 11) and lr[9] == pytest.approx(10 / 11)
    assert lr[10] == pytest.approx(1.0)
    assert lr[60] == pytest.approx(0.55)  # half way down the cosine
    assert lr[110] == lr[199] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(lr[10:], lr[11:], strict=False))
    assert train_mod.learning_rate(5, dataclasses.replace(opt, decay_lr=False), 200) == 1.0


def test_weight_decay_only_on_matrices():
    model = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=8, bias=True))
    cfg = load_config({}, []).optimizer
    optimizer = train_mod.make_optimizer(model, cfg, torch.device("cpu"))
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


def test_devices_and_dtypes():
    cpu = torch.device("cpu")
    assert common.resolve_device("cpu") == cpu
    assert common.resolve_dtype("auto", cpu) == "float32"
    assert common.resolve_compile("auto", cpu) is False
    assert common.resolve_compile("true", cpu) is True
    if not torch.cuda.is_available():
        assert common.resolve_device("auto") in (cpu, torch.device("mps"))
        with pytest.raises(TrainerError) as info:
            common.resolve_device("cuda")
        assert info.value.key == "train.device" and "no CUDA GPU" in info.value.message
    with pytest.raises(TrainerError):
        common.resolve_dtype("float16", cpu)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_gpu_is_an_error_event(tmp_path, dataset):
    cfg = write_config(tmp_path / "c.json", tiny_config(dataset))
    assert run_trainer(cfg, tmp_path / "run", "train.device=cuda") == 1
    assert last_error(tmp_path / "run")["key"] == "train.device"


def test_bf16_autocast_on_cpu(tmp_path, dataset):
    cfg = write_config(tmp_path / "c.json", tiny_config(dataset, train={"max_iters": 4, "dtype": "bfloat16"}))
    assert run_trainer(cfg, tmp_path / "run") == 0
    assert read_events(tmp_path / "run")[0]["dtype"] == "bfloat16"


# ---- checkpoints and resume -------------------------------------------------------------


@pytest.mark.parametrize("recipe", [{}, MUON_RECIPE], ids=["adamw", "muon"])
def test_resume_is_exact(tmp_path, dataset, recipe):
    """2N iterations straight == N, then resume for N more (float32, dropout 0)."""
    base = tiny_config(
        dataset,
        train={"max_iters": 16, "log_interval": 1, "eval_interval": 8, "always_save_checkpoint": True},
        optimizer={"lr_decay_iters": 16, "warmup_iters": 2, **recipe.get("optimizer", {})},
        model={**tiny_config(dataset)["model"], **recipe.get("model", {})},
    )
    cfg = write_config(tmp_path / "c.json", base)
    assert run_trainer(cfg, tmp_path / "straight") == 0
    assert run_trainer(cfg, tmp_path / "split", "train.max_iters=8") == 0
    assert run_trainer(cfg, tmp_path / "split", "train.init_from=resume") == 0
    straight = read_events(tmp_path / "straight")
    split = read_events(tmp_path / "split")
    assert by_type(split, "start")[1]["iter"] == 8
    losses = lambda ev: {e["iter"]: e["loss"] for e in by_type(ev, "train")}  # noqa: E731
    assert losses(straight) == losses(split)  # bitwise
    vals = lambda ev: {e["iter"]: e["val_loss"] for e in by_type(ev, "eval")}  # noqa: E731
    assert vals(straight) == vals(split)
    assert json.loads((tmp_path / "split" / "checkpoint" / "state.json").read_text())["iteration"] == 16


def test_resume_needs_a_later_max_iters(tmp_path, dataset):
    cfg = write_config(tmp_path / "c.json", tiny_config(dataset, train={"max_iters": 4}))
    assert run_trainer(cfg, tmp_path / "run") == 0
    assert run_trainer(cfg, tmp_path / "run", "train.init_from=resume") == 1
    assert last_error(tmp_path / "run")["key"] == "train.max_iters"


def test_resume_without_checkpoint(tmp_path, dataset):
    cfg = write_config(tmp_path / "c.json", tiny_config(dataset))
    assert run_trainer(cfg, tmp_path / "run", "train.init_from=resume") == 1
    assert "checkpoint" in last_error(tmp_path / "run")["message"]


def _saved_run(tmp_path, dataset) -> tuple[Path, Path]:
    cfg = write_config(tmp_path / "c.json", tiny_config(dataset, train={"max_iters": 10}))
    assert run_trainer(cfg, tmp_path / "run") == 0
    return cfg, tmp_path / "run"


def test_corrupt_checkpoint_is_reported_and_left_untouched(tmp_path, dataset):
    cfg, run_dir = _saved_run(tmp_path, dataset)
    weights = run_dir / "checkpoint" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # truncated
    before = weights.read_bytes()
    assert run_trainer(cfg, run_dir, "train.init_from=resume", "train.max_iters=20") == 1
    error = last_error(run_dir)
    assert error["key"] == str(weights) and "truncated or corrupt" in error["message"]
    assert weights.read_bytes() == before
    state = run_dir / "checkpoint" / "state.json"
    state.write_text("{")
    assert run_trainer(cfg, run_dir, "train.init_from=resume", "train.max_iters=20") == 1
    assert last_error(run_dir)["key"] == str(state)


def test_resume_with_another_vocabulary(tmp_path, dataset):
    cfg, run_dir = _saved_run(tmp_path, dataset)
    other = write_char_dataset("abcdefgh" * 500, tmp_path / "other")
    assert (
        run_trainer(cfg, run_dir, "train.init_from=resume", "train.max_iters=20", f"data.dataset={other}")
        == 1
    )
    error = last_error(run_dir)
    assert error["key"] == "data.dataset" and "different vocabulary" in error["message"]


def test_resume_with_another_optimizer_names_it(tmp_path, dataset):
    cfg, run_dir = _saved_run(tmp_path, dataset)
    assert (
        run_trainer(cfg, run_dir, "train.init_from=resume", "train.max_iters=20", "optimizer.name=muon") == 1
    )
    error = last_error(run_dir)
    assert error["key"] == "optimizer.name" and "resume with optimizer.name=adamw" in error["message"]


def test_resume_a_checkpoint_from_before_the_options_with_a_new_learning_rate(tmp_path, dataset):
    """A checkpoint written before the architecture options and peak_lr existed resumes as GPT-2,
    and the learning rate of this run's config, not the saved one, sets the schedule."""
    cfg, run_dir = _saved_run(tmp_path, dataset)
    folder = run_dir / "checkpoint"
    state = json.loads((folder / "state.json").read_text())
    state["model_args"] = {k: state["model_args"][k] for k in ckpt.SHAPE_ARGS}
    (folder / "state.json").write_text(json.dumps(state))
    meta = json.loads((folder / "optimizer.json").read_text())
    for group in meta["param_groups"]:
        del group["peak_lr"]
    (folder / "optimizer.json").write_text(json.dumps(meta))
    overrides = ("train.init_from=resume", "train.max_iters=20", "train.log_interval=1")
    assert (
        run_trainer(cfg, run_dir, *overrides, "optimizer.decay_lr=false", "optimizer.learning_rate=0.0005")
        == 0
    )
    assert by_type(read_events(run_dir), "start")[-1]["iter"] == 10
    groups = json.loads((folder / "optimizer.json").read_text())["param_groups"]
    assert [g["lr"] for g in groups] == [0.0005, 0.0005]  # the saved peak was 0.003


def test_checkpoint_swap_is_atomic(tmp_path, monkeypatch):
    run_dir = RunDir(tmp_path)
    model = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=8))
    ckpt.save_checkpoint(run_dir, model, None, {"iteration": 1})
    # a crash while the new checkpoint is being written: the old one stays
    monkeypatch.setattr(ckpt, "save_file", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    opt = torch.optim.AdamW(model.parameters())
    with pytest.raises(TrainerError) as failed:
        ckpt.save_checkpoint(run_dir, model, opt, {"iteration": 2})
    assert "disk full" in failed.value.message and failed.value.key == str(run_dir.checkpoint)
    assert ckpt.load_model(tmp_path)[1]["iteration"] == 1
    assert not list(tmp_path.glob("checkpoint.tmp-*"))  # the partial folder is removed
    monkeypatch.undo()
    # a crash between the two renames: checkpoint/ is gone, the previous one is found beside it
    real_rename = os.rename
    calls = []

    def crash_on_second(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt("power cut")
        real_rename(src, dst)

    monkeypatch.setattr(ckpt.os, "rename", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_checkpoint(run_dir, model, None, {"iteration": 3})
    monkeypatch.undo()
    assert not run_dir.checkpoint.exists()
    assert ckpt.load_model(tmp_path)[1]["iteration"] == 1
    ckpt.save_checkpoint(run_dir, model, None, {"iteration": 4})
    assert ckpt.load_model(tmp_path)[1]["iteration"] == 4
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("checkpoint")) == ["checkpoint"]


def test_optimizer_state_round_trips_without_pickle(tmp_path):
    model = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=8))
    opt = torch.optim.AdamW(model.parameters(), lr=0.01)
    x = torch.randint(10, (2, 8))
    model(x, x)[1].backward()
    opt.step()
    ckpt.save_checkpoint(RunDir(tmp_path), model, opt, {"iteration": 1})
    opt2 = torch.optim.AdamW(model.parameters(), lr=0.5)
    ckpt.load_optimizer(opt2, tmp_path / "checkpoint")
    a, b = opt.state_dict(), opt2.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for k in a["state"]:
        for name in a["state"][k]:
            assert torch.equal(a["state"][k][name], b["state"][k][name])


# ---- bad input -------------------------------------------------------------------------


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
    ds = write_char_dataset("abcd" * 100, tmp_path / "d")  # 40 val tokens
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

    monkeypatch.setattr(train_mod.Trainer, "train_step", oom)
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


def test_wandb_is_optional(tmp_path, dataset, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "wandb", None)
    cfg = write_config(tmp_path / "c.json", tiny_config(dataset, train={"max_iters": 2}))
    assert run_trainer(cfg, tmp_path / "a") == 0  # off by default
    assert run_trainer(cfg, tmp_path / "b", "logging.wandb=true") == 0
    assert "wandb is not installed" in capsys.readouterr().err
    fake = types.SimpleNamespace(logged=[], init=lambda **kw: None)
    fake.log = fake.logged.append
    monkeypatch.setitem(sys.modules, "wandb", fake)
    assert run_trainer(cfg, tmp_path / "c", "logging.wandb=true", "train.log_interval=1") == 0
    assert any("train/loss" in entry for entry in fake.logged)


def test_export_runs_after_training_and_never_fails_it(tmp_path, dataset, monkeypatch, capsys):
    monkeypatch.delenv("WORDPLAY_SKIP_EXPORT", raising=False)
    exported = []
    fake = types.ModuleType("wordplay_trainer.export")
    fake.export_run = lambda run_dir, quantize=None: exported.append(run_dir) or run_dir / "model.onnx"
    monkeypatch.setitem(sys.modules, "wordplay_trainer.export", fake)
    cfg = write_config(tmp_path / "c.json", tiny_config(dataset, train={"max_iters": 2}))
    assert run_trainer(cfg, tmp_path / "run") == 0
    assert exported == [(tmp_path / "run").resolve()]

    def broken(run_dir, quantize=None):
        raise RuntimeError("onnx exploded")

    fake.export_run = broken
    assert run_trainer(cfg, tmp_path / "run2") == 0
    assert read_events(tmp_path / "run2")[-1]["reason"] == "finished"
    assert "export failed" in capsys.readouterr().err


def test_events_are_flushed_per_line(tmp_path):
    from wordplay_trainer.events import EventWriter
    from wordplay_trainer.events import read_events as read

    writer = EventWriter(tmp_path / "events.jsonl")
    writer.emit("train", iter=1, loss=float("nan"), lr=0.1, dt_ms=1.0, tokens_per_s=1.0, mfu=None)
    lines = (tmp_path / "events.jsonl").read_text().splitlines()  # before close
    assert len(lines) == 1 and json.loads(lines[0])["loss"] is None
    assert math.isclose(json.loads(lines[0])["time"], __import__("time").time(), abs_tol=60)
    with open(tmp_path / "events.jsonl", "a") as f:
        f.write('{"type": "tra')  # torn last line
    assert len(read(tmp_path / "events.jsonl")) == 1
    writer.close()


def test_target_val_loss_stops_at_the_first_eval_that_reaches_it(tmp_path, dataset, monkeypatch):
    # the target: the val loss this config reaches at its second eval, read from a run without one
    cfg = write_config(tmp_path / "c.json", tiny_config(dataset, train={"max_iters": 60}))
    assert run_trainer(cfg, tmp_path / "free") == 0
    val = {e["iter"]: e["val_loss"] for e in by_type(read_events(tmp_path / "free"), "eval")}
    assert val[20] < val[10]  # else the run below would stop at iteration 10
    target = val[20]
    monkeypatch.delenv("WORDPLAY_SKIP_EXPORT")  # stopping at the target exports, as any end does
    assert run_trainer(cfg, tmp_path / "run", f"train.target_val_loss={target!r}") == 0
    events = read_events(tmp_path / "run")
    for e in events:
        jsonschema.validate(e, SCHEMA)
    assert events[0]["target_val_loss"] == target
    assert [e["iter"] for e in by_type(events, "eval")] == [10, 20]
    assert events[-1] == {
        **events[-1],
        "type": "done",
        "reason": "finished",
        "iter": 20,
        "target_val_loss": target,
    }
    state = json.loads((tmp_path / "run" / "checkpoint" / "state.json").read_text())
    assert state["iteration"] == 20 and state["val_loss"] == target
    assert (tmp_path / "run" / "model.onnx").exists()
