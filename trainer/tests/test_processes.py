"""Issue 3 points 11 (stop), 12 (2 processes with gloo) and 15 (bench), as real processes."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    HANG_GUARD_S,
    MUON_RECIPE,
    TRAINER_DIR,
    by_type,
    needs_torchrun,
    read_events,
    run_trainer,
    tiny_config,
    torchrun,
    trainer_env,
    write_config,
)

from wordplay_trainer.check.bench import bench
from wordplay_trainer.commands import bench as bench_command
from wordplay_trainer.train.config import load_config

# HANG_GUARD_S only keeps a hung trainer from hanging the suite: no check here is about speed (how
# fast a stop is: `wordplay bench stop`, in `npm run bench`).


def has_train_event(run_dir: Path) -> bool:
    events = run_dir / "events.jsonl"
    return events.exists() and '"type":"train"' in events.read_text()


def wait_for_training(proc: subprocess.Popen, run_dir: Path) -> None:
    """Until the run's first train event; fails at once if the trainer exits before it."""
    hung = time.monotonic() + HANG_GUARD_S
    while not has_train_event(run_dir):
        if proc.poll() is not None:
            raise AssertionError(f"the trainer ended ({proc.returncode}) before a step: {proc.stderr.read()}")
        if time.monotonic() > hung:
            raise TimeoutError(f"no train event in {HANG_GUARD_S} s: the trainer hangs")
        time.sleep(0.1)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_with_checkpoint_and_exit_0(tmp_path, dataset, sig):
    cfg = write_config(
        tmp_path / "c.json",
        tiny_config(dataset, train={"max_iters": 1_000_000, "eval_interval": 1_000_000, "log_interval": 1}),
    )
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "wordplay_trainer", "train", "--config", str(cfg), "--run-dir", str(run_dir)],
        cwd=TRAINER_DIR,
        env=trainer_env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_training(proc, run_dir)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=HANG_GUARD_S)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    events = read_events(run_dir)
    done = events[-1]
    assert done["type"] == "done" and done["reason"] == "stopped"
    assert by_type(events, "checkpoint")[-1]["iter"] == done["iter"]
    state = json.loads((run_dir / "checkpoint" / "state.json").read_text())
    assert state["iteration"] == done["iter"] > 0
    assert "stopping after this step" in err


def assert_one_process_matches(config: Path, two: Path, one: Path) -> None:
    """The config's first 10 iterations on this one process, accumulating both micro-batches,
    against its run `two` on two gloo processes: the same train and val losses."""
    assert run_trainer(config, one, "train.max_iters=10") == 0
    ev1, ev2 = read_events(one), read_events(two)
    assert by_type(ev2, "start")[0]["world_size"] == 2
    assert len(by_type(ev2, "start")) == 1  # rank 0 alone writes
    l1 = [e["loss"] for e in by_type(ev1, "train")]
    l2 = [e["loss"] for e in by_type(ev2, "train")][:10]
    assert len(l1) == len(l2) == 10
    assert np.allclose(l1, l2, atol=1e-4)
    assert np.isclose(by_type(ev1, "eval")[0]["val_loss"], by_type(ev2, "eval")[0]["val_loss"], atol=1e-4)
    assert (two / "checkpoint" / "model.safetensors").exists()


@needs_torchrun
def test_two_gloo_processes_match_one_with_double_accumulation(sharded_config, ddp_reference, tmp_path):
    assert_one_process_matches(sharded_config, ddp_reference, tmp_path / "one")


@needs_torchrun
def test_two_gloo_processes_match_one_with_muon(sharded_config, tmp_path):
    cfg = json.loads(sharded_config.read_text())
    for group, values in MUON_RECIPE.items():
        cfg[group].update(values)
    muon = write_config(tmp_path / "muon.json", cfg)
    torchrun(muon, tmp_path / "two", "train.max_iters=10")
    assert_one_process_matches(muon, tmp_path / "two", tmp_path / "one")


def test_bench_prints_json(tmp_path, dataset, capsys):
    cfg = write_config(tmp_path / "c.json", tiny_config(dataset))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "wordplay_trainer",
            "bench",
            "--config",
            str(cfg),
            "--iters",
            "3",
            "--warmup",
            "1",
        ],
        cwd=TRAINER_DIR,
        env=trainer_env(),
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["data"] == "dataset" and result["tokens_per_s"] > 0 and result["mfu"] > 0
    # with no dataset, on random ids; in this process
    args = ["--config", "shakespeare-char-cpu", "--iters", "2", "--warmup", "0"]
    args += ["--set", f"data.dataset={tmp_path / 'none'}", "--set", "model.n_layer=1"]
    assert bench_command.main(args) == 0
    assert json.loads(capsys.readouterr().out)["data"] == "synthetic"


def test_bench_trains_the_configs_architecture(dataset):
    """The benchmark times the model the config describes, its architecture options included."""
    cfg = load_config(tiny_config(dataset, model={**tiny_config(dataset)["model"], **MUON_RECIPE["model"]}))
    result = bench(cfg, iters=1, warmup=0, name="tiny")
    gpt2 = bench(load_config(tiny_config(dataset)), iters=1, warmup=0, name="tiny")
    assert result["n_params"] != gpt2["n_params"]  # no position table, SwiGLU's width
