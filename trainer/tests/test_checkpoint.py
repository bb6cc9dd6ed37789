"""Issue 3 point 8, in-process on the CPU: checkpoints (safetensors and JSON, swapped in
atomically) and resuming from them, exactly, or refused with the key or file at fault."""

import json
import os

import pytest
import torch
from conftest import (
    MUON_RECIPE,
    by_type,
    char_dataset,
    last_error,
    read_events,
    run_trainer,
    tiny_config,
    write_config,
)

from wordplay_trainer.common.errors import TrainerError
from wordplay_trainer.run.rundir import RunDir
from wordplay_trainer.train import checkpoint as ckpt
from wordplay_trainer.train.model import GPT, GPTConfig


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


def test_resume_needs_a_later_max_iters(saved_run):
    cfg, run_dir = saved_run  # finished at its max_iters
    assert run_trainer(cfg, run_dir, "train.init_from=resume") == 1
    assert last_error(run_dir)["key"] == "train.max_iters"


def test_resume_without_checkpoint(tmp_path, dataset):
    cfg = write_config(tmp_path / "c.json", tiny_config(dataset))
    assert run_trainer(cfg, tmp_path / "run", "train.init_from=resume") == 1
    assert "checkpoint" in last_error(tmp_path / "run")["message"]


def test_corrupt_checkpoint_is_reported_and_left_untouched(saved_run):
    cfg, run_dir = saved_run
    weights = run_dir / "checkpoint" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # truncated
    before = weights.read_bytes()
    assert run_trainer(cfg, run_dir, "train.init_from=resume", "train.max_iters=30") == 1
    error = last_error(run_dir)
    assert error["key"] == str(weights) and "truncated or corrupt" in error["message"]
    assert weights.read_bytes() == before
    state = run_dir / "checkpoint" / "state.json"
    state.write_text("{")
    assert run_trainer(cfg, run_dir, "train.init_from=resume", "train.max_iters=30") == 1
    assert last_error(run_dir)["key"] == str(state)


def test_resume_with_another_vocabulary(saved_run, tmp_path):
    cfg, run_dir = saved_run
    other = char_dataset("abcdefgh" * 500, tmp_path / "other")
    assert (
        run_trainer(cfg, run_dir, "train.init_from=resume", "train.max_iters=30", f"data.dataset={other}")
        == 1
    )
    error = last_error(run_dir)
    assert error["key"] == "data.dataset" and "different vocabulary" in error["message"]


def test_resume_with_another_optimizer_names_it(saved_run):
    cfg, run_dir = saved_run
    assert (
        run_trainer(cfg, run_dir, "train.init_from=resume", "train.max_iters=30", "optimizer.name=muon") == 1
    )
    error = last_error(run_dir)
    assert error["key"] == "optimizer.name" and "resume with optimizer.name=adamw" in error["message"]


def test_resume_a_checkpoint_from_before_the_options_with_a_new_learning_rate(saved_run):
    """A checkpoint written before the architecture options and peak_lr existed resumes as GPT-2,
    and the learning rate of this run's config, not the saved one, sets the schedule."""
    cfg, run_dir = saved_run
    folder = run_dir / "checkpoint"
    state = json.loads((folder / "state.json").read_text())
    state["model_args"] = {k: state["model_args"][k] for k in ckpt.SHAPE_ARGS}
    (folder / "state.json").write_text(json.dumps(state))
    meta = json.loads((folder / "optimizer.json").read_text())
    for group in meta["param_groups"]:
        del group["peak_lr"]
    (folder / "optimizer.json").write_text(json.dumps(meta))
    overrides = ("train.init_from=resume", "train.max_iters=30", "train.log_interval=1")
    assert (
        run_trainer(cfg, run_dir, *overrides, "optimizer.decay_lr=false", "optimizer.learning_rate=0.0005")
        == 0
    )
    assert by_type(read_events(run_dir), "start")[-1]["iter"] == 20
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
