"""Issue 3 points 4, 6, 13 and 14, in-process on the CPU: a whole run and the run folder it
writes (config.json, events.jsonl, checkpoint/, the export after it), the default run folder,
the config as JSON text, optional wandb, and train.target_val_loss."""

import json
import math
import os
import sys
import types
from pathlib import Path

import jsonschema
import torch
from conftest import TEXT, by_type, last_error, read_events, run_trainer, tiny_config, write_config

from wordplay_trainer.commands import train as train_command
from wordplay_trainer.train import checkpoint as ckpt
from wordplay_trainer.train.config import load_config

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "events.schema.json").read_text())


def test_run_writes_the_contract(tiny_run):
    cfg, run_dir, err = tiny_run
    events = read_events(run_dir)
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
    assert all(e["mfu"] > 0 for e in by_type(events, "train"))  # the CPU's measured peak (test_cpu_peak.py)
    sample = by_type(events, "sample")[0]["tokens"]
    assert len(sample) == 8 and max(sample) < len(set(TEXT))
    # config.json: the resolved config, every default filled
    config = json.loads((run_dir / "config.json").read_text())
    assert config == load_config(str(cfg)).as_dict()
    # checkpoint: safetensors + JSON only, never pickle
    files = sorted(p.name for p in (run_dir / "checkpoint").iterdir())
    assert files == ["model.safetensors", "optimizer.json", "optimizer.safetensors", "state.json"]
    state = json.loads((run_dir / "checkpoint" / "state.json").read_text())
    assert state["iteration"] == 20 and state["tokenizer"]["type"] == "char"
    assert set(state["rng"][0]) >= {"python", "numpy", "torch", "data"}
    model, st = ckpt.load_model(run_dir)
    assert not model.training and st["model_args"]["n_embd"] == 16
    assert "iter 5/20 | loss" in err and "eval 20: train loss" in err


def test_default_run_dir(tmp_path, dataset, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = write_config(tmp_path / "tiny.wordplay.json", tiny_config(dataset, train={"max_iters": 2}))
    assert train_command.main(["--config", str(cfg)]) == 0
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


def test_events_are_flushed_per_line(tmp_path):
    from wordplay_trainer.run.events import EventWriter
    from wordplay_trainer.run.events import read_events as read

    writer = EventWriter(tmp_path / "events.jsonl")
    writer.emit("train", iter=1, loss=float("nan"), lr=0.1, dt_ms=1.0, tokens_per_s=1.0, mfu=None)
    lines = (tmp_path / "events.jsonl").read_text().splitlines()  # before close
    assert len(lines) == 1 and json.loads(lines[0])["loss"] is None
    assert math.isclose(json.loads(lines[0])["time"], __import__("time").time(), abs_tol=60)
    with open(tmp_path / "events.jsonl", "a") as f:
        f.write('{"type": "tra')  # torn last line
    assert len(read(tmp_path / "events.jsonl")) == 1
    writer.close()


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
    fake = types.ModuleType("wordplay_trainer.export.onnx_model")
    fake.export_run = lambda run_dir, quantize=None: exported.append(run_dir) or run_dir / "model.onnx"
    monkeypatch.setitem(sys.modules, "wordplay_trainer.export.onnx_model", fake)
    cfg = write_config(tmp_path / "c.json", tiny_config(dataset, train={"max_iters": 2}))
    assert run_trainer(cfg, tmp_path / "run") == 0
    assert exported == [(tmp_path / "run").resolve()]

    def broken(run_dir, quantize=None):
        raise RuntimeError("onnx exploded")

    fake.export_run = broken
    assert run_trainer(cfg, tmp_path / "run2") == 0
    assert read_events(tmp_path / "run2")[-1]["reason"] == "finished"
    assert "export failed" in capsys.readouterr().err


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
