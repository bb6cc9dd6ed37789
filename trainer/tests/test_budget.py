"""train.time_budget_s end to end: a budgeted run ends by its clock as a run at max_iters ends (a
last evaluation, a checkpoint, the export, `done` finished) within its budget; a resume gives the
finished run a new budget and continues past max_iters; a budget that is no positive number is
refused naming the key. The ends are checked generously: the machine is shared, and this tests
where the run ends, not how fast it gets there."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import (
    TEXT,
    by_type,
    char_dataset,
    needs_torchrun,
    read_events,
    run_trainer,
    tiny_config,
    torchrun,
    write_config,
)

from wordplay_trainer.common.compute import COMPILE
from wordplay_trainer.common.errors import ConfigError
from wordplay_trainer.train import budget
from wordplay_trainer.train.config import load_config

BUDGET_S, SHORT_BUDGET_S = 10.0, 6.0
SLACK_S = 10.0  # a busy 2-core machine: the goal is 5% or 10 s, whichever is larger
MAX_ITERS = 100_000  # far beyond what fits: the budget ends the run


@pytest.fixture(scope="module")
def budgeted_run(tmp_path_factory) -> tuple[Path, Path, float]:
    """tiny_config with a 10 s budget and the export on: its config, its run folder and the
    seconds run_trainer took."""
    base = tmp_path_factory.mktemp("budget")
    dataset = char_dataset(TEXT, base / "data")
    cfg = tiny_config(
        dataset,
        train={"max_iters": MAX_ITERS, "eval_interval": 500, "log_interval": 1, "time_budget_s": BUDGET_S},
    )
    config = write_config(base / "c.json", cfg)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("WORDPLAY_SKIP_EXPORT", raising=False)
        started = time.perf_counter()
        assert run_trainer(config, base / "run") == 0
        wall = time.perf_counter() - started
    return config, base / "run", wall


def test_a_budgeted_run_ends_by_its_clock_checkpointed_and_exported(budgeted_run):
    _, run_dir, wall = budgeted_run
    events = read_events(run_dir)
    start, done = events[0], events[-1]
    assert start["type"] == "start" and start["time_budget_s"] == BUDGET_S and start["max_iters"] == MAX_ITERS
    assert done["type"] == "done" and done["reason"] == "finished"
    assert 0 < done["iter"] < MAX_ITERS  # the budget ended it
    # as a run at max_iters ends: an evaluation at its last iteration, a checkpoint, the export
    evals = by_type(events, "eval")
    assert evals[0]["iter"] == 0 and evals[-1]["iter"] == done["iter"]  # it evaluates where it starts too
    # the checkpoint is the best evaluation's, as at max_iters (nanoGPT's rule: saved when val improves)
    best = min(evals, key=lambda e: e["val_loss"])  # the first of equals: improving is strict
    assert by_type(events, "checkpoint")[-1]["iter"] == best["iter"]
    assert (run_dir / "checkpoint" / "state.json").is_file()
    assert (run_dir / "model.onnx").is_file() and (run_dir / "model.json").is_file()
    # within the budget, the export included (the clock starts at the trainer's set-up; a load
    # spike in the last evaluation can overrun it, so the goal's slack)
    assert done["time"] - start["time"] <= BUDGET_S + SLACK_S
    assert wall <= BUDGET_S + SLACK_S
    # the trainer's clock in every train event (how many steps fit depends on the machine's load;
    # the schedule's shape is test_schedule.py's)
    assert all(0 < e["elapsed_s"] <= BUDGET_S + SLACK_S for e in by_type(events, "train"))


def test_resume_gives_a_finished_run_a_new_budget_past_max_iters(saved_run):
    config, run_dir = saved_run  # finished at its max_iters, 20
    # max_iters at the checkpoint's iteration: refused without a budget (test_checkpoint.py), a
    # cap counted from the resume with one
    sets = ("train.init_from=resume", "train.max_iters=20", "train.log_interval=1")
    assert run_trainer(config, run_dir, *sets, f"train.time_budget_s={SHORT_BUDGET_S}") == 0
    events = read_events(run_dir)
    resumed = events[events.index(by_type(events, "start")[-1]) :]
    start, done = resumed[0], resumed[-1]
    assert (start["iter"], start["max_iters"], start["time_budget_s"]) == (20, 40, SHORT_BUDGET_S)
    assert done["type"] == "done" and done["reason"] == "finished" and 20 < done["iter"] <= 40
    assert done["time"] - start["time"] <= SHORT_BUDGET_S + SLACK_S
    # a fresh segment: its warmup climbs back to the peak (warmup_iters 2: 1/3 of it first)
    trains = by_type(resumed, "train")
    opt = tiny_config(Path())["optimizer"]
    assert trains[0]["lr"] == pytest.approx(opt["learning_rate"] / 3)


@needs_torchrun
def test_two_processes_agree_on_the_learning_rate_and_the_end(tmp_path):
    """Each process has its own clock: they must take the same learning rate at every step and
    leave the loop at the same one (a process that leaves alone hangs its peer's all-reduce)."""
    dataset = char_dataset(TEXT, tmp_path / "data")
    train = {
        "max_iters": MAX_ITERS,
        "eval_interval": 500,
        "log_interval": 1,
        "gradient_accumulation_steps": 2,
    }
    config = write_config(tmp_path / "c.json", tiny_config(dataset, train=train))
    torchrun(config, tmp_path / "run", f"train.time_budget_s={BUDGET_S}")
    events = read_events(tmp_path / "run")
    start, done = events[0], events[-1]
    assert done["type"] == "done" and done["reason"] == "finished" and 0 < done["iter"] < MAX_ITERS
    assert by_type(events, "eval")[-1]["iter"] == done["iter"]
    assert done["time"] - start["time"] <= BUDGET_S + SLACK_S


@pytest.mark.parametrize("value", [0, -30, "five minutes", True])
def test_a_budget_that_is_no_positive_number_is_refused_naming_the_key(value):
    with pytest.raises(ConfigError) as info:
        load_config(tiny_config(Path("/nonexistent"), train={"time_budget_s": value}))
    assert [key for key, _ in info.value.problems] == ["train.time_budget_s"]


def test_a_budget_by_set_that_is_no_number_is_refused_naming_the_key():
    with pytest.raises(ConfigError) as info:
        load_config(tiny_config(Path("/nonexistent")), ["train.time_budget_s=-1"])
    assert [key for key, _ in info.value.problems] == ["train.time_budget_s"]


def test_compiling_a_short_cpu_budget_warns_naming_the_keys():
    short = budget.compiling_message(30, "cpu")
    assert short.startswith("wordplay: compiling the model")
    assert "warning: train.compile true under train.time_budget_s 30:" in short
    assert "set train.compile auto" in short
    # a long enough budget, no budget, or a GPU: the compile line alone
    long_enough = COMPILE["cpu_min_run_seconds"]
    assert [budget.compiling_message(*a) for a in ((long_enough, "cpu"), (None, "cpu"), (30, "cuda"))] == [
        "wordplay: compiling the model (torch.compile) ..."
    ] * 3
