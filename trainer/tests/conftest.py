"""Shared test helpers: tiny dataset folders written as `wordplay prepare` writes them, tiny
configs, the trainer in this process or under torchrun, event reading; the runs several test
files read, trained once per session (tiny_run, ddp_reference); and, under CI, a skipped test is a
failed one (pytest_runtest_makereport)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TRAINER_DIR = Path(__file__).resolve().parents[1]
TORCHRUN = Path(sys.executable).with_name("torchrun")
HANG_GUARD_S = 300  # keeps a hung trainer or collective from hanging the suite; no check is about time
PRESETS_DIR = TRAINER_DIR / "wordplay_trainer" / "presets"
if str(TRAINER_DIR) not in sys.path:
    sys.path.insert(0, str(TRAINER_DIR))

# exporting after each tiny run would only slow the tests; one test turns it back on
os.environ.setdefault("WORDPLAY_SKIP_EXPORT", "1")

from wordplay_trainer.prepare.char_dataset import write_char_dataset  # noqa: E402 - after sys.path

TEXT = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
    "First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\nResolved. resolved.\n\n"
) * 40


def char_dataset(text: str, out: Path) -> Path:
    """A char-level dataset folder `out` as `wordplay prepare --tokenizer char` writes it, by the
    trainer's own writer of it (prepare/char_dataset.py, held to prepare's output byte for byte
    by test_char_dataset.py); its source is named test.txt."""
    write_char_dataset(text, out, "test.txt")
    return out


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
    from wordplay_trainer.commands import train

    args = ["--config", str(cfg_path), "--run-dir", str(run_dir)]
    for s in sets:
        args += ["--set", s]
    return train.main(args)


needs_torchrun = pytest.mark.skipif(
    not TORCHRUN.exists(),
    reason=f"torchrun is not beside {sys.executable}: torch installs it; run the tests with the Python "
    "`wordplay setup` prints",
)


def torchrun(config: Path, run_dir: Path, *sets: str) -> None:
    """The trainer on two processes under torchrun; fails with their output when it does not finish."""
    args = ["--config", str(config), "--run-dir", str(run_dir), "--set", "distributed.nproc_per_node=2"]
    for s in sets:
        args += ["--set", s]
    out = subprocess.run(
        [str(TORCHRUN), "--standalone", "--nproc_per_node", "2", "-m", "wordplay_trainer", "train", *args],
        cwd=TRAINER_DIR,
        env=trainer_env(),
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert out.returncode == 0, out.stderr[-4000:]


def read_events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


def by_type(events: list[dict], type_: str) -> list[dict]:
    return [e for e in events if e["type"] == type_]


def last_error(run_dir: Path) -> dict:
    """The error event of a run that ended in one (its last event a done event with reason error)."""
    events = read_events(run_dir)
    assert events[-1] == {**events[-1], "type": "done", "reason": "error"}
    return by_type(events, "error")[-1]


def trainer_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TRAINER_DIR), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env["OMP_NUM_THREADS"] = "1"
    return env


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return char_dataset(TEXT, tmp_path / "data")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> tuple[Path, Path, str]:
    """tiny_config's run, trained once for the whole session, in this process: its config file,
    its run folder (20 iterations, a checkpoint at 20) and what it logged on stderr. Read it as it
    is; a test that changes a run takes a copy (saved_run)."""
    base = tmp_path_factory.mktemp("tiny-run")
    cfg = write_config(base / "c.json", tiny_config(char_dataset(TEXT, base / "data")))
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        assert run_trainer(cfg, base / "run") == 0
    return cfg, base / "run", stderr.getvalue()


@pytest.fixture(scope="session")
def sharded_config(tmp_path_factory) -> Path:
    """tiny_config for 60 iterations, accumulating 2 micro-batches in all (one per process on
    two), a train event at every step and a checkpoint at every evaluation (each 10), the
    learning rate's decay ending at 60 whatever max_iters a launch sets."""
    folder = tmp_path_factory.mktemp("sharded")
    dataset = char_dataset(TEXT, folder / "data")
    cfg = tiny_config(
        dataset,
        train={
            "max_iters": 60,
            "log_interval": 1,
            "eval_interval": 10,
            "gradient_accumulation_steps": 2,
            "always_save_checkpoint": True,
        },
        optimizer={**tiny_config(dataset)["optimizer"], "lr_decay_iters": 60},
    )
    return write_config(folder / "c.json", cfg)


@pytest.fixture(scope="session")
def ddp_reference(sharded_config, tmp_path_factory) -> Path:
    """sharded_config's run on two gloo processes under torchrun (DDP), iterations 1-60, run once
    for the session: what one process and the sharded backends are held to."""
    run_dir = tmp_path_factory.mktemp("ddp") / "run"
    torchrun(sharded_config, run_dir)
    return run_dir


@pytest.fixture
def saved_run(tiny_run, tmp_path) -> tuple[Path, Path]:
    """A copy of tiny_run's folder of this test's own (to resume, damage or plant files in), and
    the config it trained with."""
    cfg, run_dir, _ = tiny_run
    return cfg, Path(shutil.copytree(run_dir, tmp_path / "run"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI (CI set, as the TypeScript tests read it) a skip is a failure: a test that cannot
    run there means a missing prerequisite, and the skip's reason names what to install. Tests
    that cannot run on some machines are made to run everywhere instead (e.g. with no GPU
    visible), so nothing is ever skipped on purpose."""
    report = (yield).get_result()
    if os.environ.get("CI") and report.skipped:
        reason = report.longrepr[2].removeprefix("Skipped: ")  # a skip's longrepr: (file, line, reason)
        report.outcome = "failed"
        report.longrepr = f"under CI every test must run, but this one was skipped: {reason}"
