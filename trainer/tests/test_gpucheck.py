"""Issue 18 part 4: the GPU check (`python -m wordplay_trainer gpu-check`). Its dry run, end to
end through the real command on the CPU, with the report held to schemas/gpu-check.schema.json
and to what each step must have found; the real check on a machine without a GPU (it fails and
says why, the report written all the same); and the plumbing that keeps a failing, hanging or
dependent step from losing the report."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
import torch
from conftest import TRAINER_DIR, trainer_env

from wordplay_trainer.check import harness
from wordplay_trainer.check.sizes import DRY_RUN
from wordplay_trainer.check.steps import train_figures

HANG_GUARD_S = 120  # keeps a process that never ends from hanging the suite; no check is about time
SCHEMA = json.loads((TRAINER_DIR.parent / "schemas" / "gpu-check.schema.json").read_text())
STEPS = ["environment", "dataset", "train", "resume", "export", "bench_shakespeare_char", "bench_gpt2_124m"]


def gpu_check(out: Path, *args: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "wordplay_trainer", "gpu-check", "--out", str(out), *args],
        cwd=TRAINER_DIR,
        env=env or trainer_env(),
        capture_output=True,
        text=True,
        timeout=400,
    )
    return proc, json.loads(out.read_text())


def test_dry_run_end_to_end(tmp_path):
    proc, report = gpu_check(tmp_path / "report.json", "--dry-run")
    assert proc.returncode == 0, proc.stderr[-4000:]
    jsonschema.validate(report, SCHEMA)
    assert report["dry_run"] is True and report["passed"] is True
    assert report["command"] == "python -m wordplay_trainer gpu-check --dry-run"
    steps = report["steps"]
    assert list(steps) == [*STEPS, "distributed"]
    assert all(s["status"] == "passed" and s["seconds"] > 0 for s in steps.values()), steps

    env = steps["environment"]
    assert env["cuda_available"] is torch.cuda.is_available()
    train, resume, export = steps["train"], steps["resume"], steps["export"]
    s = DRY_RUN
    assert (train["device"], train["dtype"], train["compile"]) == ("cpu", "float32", False)
    assert train["iters"] == s.iters and train["timed_train_events"] == s.iters // s.log_interval - 1
    assert train["tokens_per_s"] > 0 and train["dt_ms"] > 0
    assert train["mfu"] > 0  # against the CPU's measured peak
    assert train["last_loss"] < train["first_loss"]
    # the resumed run started at the checkpoint the train step left, and kept its loss
    assert resume["resumed_at"] == train["iters"] == s.iters
    assert resume["checkpoint_iter"] == resume["iters"] == s.iters + s.more_iters
    assert (
        resume["loss_at_start"] == train["first_loss"] and resume["loss_before_resume"] == train["last_loss"]
    )
    assert resume["loss_after_resume"] < (train["first_loss"] + train["last_loss"]) / 2
    # onnxruntime against PyTorch on the trained model, a prefill and 8 cached steps
    assert export["positions"] == 9 and export["prompt_tokens"] == 16
    assert 0 <= export["max_abs_diff"] <= export["tolerance"] == 1e-4 * max(1, export["max_abs_logit"])
    assert export["top1_agreement"] == 1.0 and export["onnx_bytes"] > 0

    char, gpt2 = steps["bench_shakespeare_char"]["result"], steps["bench_gpt2_124m"]["result"]
    assert (char["config"], char["data"], char["iters"]) == ("shakespeare-char", "dataset", s.bench_iters)
    assert (gpt2["config"], gpt2["data"]) == ("gpt2-124m", "synthetic")  # random GPT-2 token ids
    assert gpt2["n_params"] > 50257 * 32  # the toy model still embeds GPT-2's whole vocabulary
    assert char["tokens_per_s"] > 0 and gpt2["tokens_per_s"] > 0 and char["mfu"] > 0

    dist = steps["distributed"]
    assert (dist["backend"], dist["world_size"], dist["iters"]) == ("gloo", 2, s.distributed_iters)
    assert dist["tokens_per_iter"] == 2 * train["tokens_per_iter"]  # accumulation 2, one micro-batch each
    # the scratch folder (the dataset's parent) is gone
    dataset = next(a for a in steps["bench_shakespeare_char"]["sets"] if a.startswith("data.dataset="))
    assert not Path(dataset.split("=", 1)[1]).parent.exists()


def test_the_real_check_without_a_gpu_fails_and_says_why(tmp_path):
    # no GPU visible to it, whatever this machine has
    no_gpu = {**trainer_env(), "CUDA_VISIBLE_DEVICES": "", "HIP_VISIBLE_DEVICES": ""}
    proc, report = gpu_check(tmp_path / "out" / "report.json", env=no_gpu)
    assert proc.returncode == 1
    jsonschema.validate(report, SCHEMA)
    assert report["dry_run"] is False and report["passed"] is False
    steps = report["steps"]
    assert steps["environment"]["status"] == "failed" and "--dry-run" in steps["environment"]["error"]
    assert steps["dataset"]["status"] == "passed"
    for name in ["train", "bench_shakespeare_char", "bench_gpt2_124m", "distributed"]:
        assert steps[name] == {**steps[name], "status": "skipped"} and "environment" in steps[name]["reason"]
    assert "needs the train step" in steps["resume"]["reason"]
    assert "FAILED (environment)" in proc.stderr


def test_a_failing_step_is_recorded_and_the_check_goes_on(tmp_path):
    check = harness.Check(DRY_RUN, tmp_path)

    def broken() -> dict:
        raise KeyError("loss")

    def short() -> dict:
        raise harness.StepFailed("too short", iters=3)

    check.step("broken", broken)
    check.step("short", short)
    check.step("after", lambda: {"x": 1}, needs=("broken",))
    check.step("fine", lambda: {"x": 2})
    assert (
        check.steps["broken"]["status"] == "failed" and check.steps["broken"]["error"] == "KeyError: 'loss'"
    )
    assert check.steps["short"] == {
        **check.steps["short"],
        "status": "failed",
        "error": "too short",
        "iters": 3,
    }
    assert check.steps["after"]["status"] == "skipped" and "broken" in check.steps["after"]["reason"]
    assert check.steps["fine"] == {**check.steps["fine"], "status": "passed", "x": 2}

    with pytest.raises(harness.StepFailed) as failed:
        check.child([sys.executable, "-c", "import sys; sys.exit('no such preset')"], "exits", 60)
    assert (
        failed.value.message == "exits exited with 1"
        and "no such preset" in failed.value.figures["stderr_tail"]
    )
    check.deadline = time.monotonic() + harness.MIN_STEP_S - 1
    with pytest.raises(harness.StepFailed, match="budget was spent before late"):
        check.child([sys.executable, "-c", "pass"], "late", 60)


class PastItsTimeOnceStarted(subprocess.Popen):
    """A child whose communicate() runs past its timeout as soon as the child has started (its
    first stdout line, kept as `first_line`): the harness handles the timeout, but when it strikes
    is the test's choice, not the clock's, so a slow start can never beat it."""

    def communicate(self, input=None, timeout=None):
        self.first_line = self.stdout.readline()
        raise subprocess.TimeoutExpired(self.args, timeout)


def gone(pid: int) -> bool:
    """Waits until the process `pid` has exited (a zombie counts: it runs nothing); False only if
    it is still running after HANG_GUARD_S, which no passing run comes near."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True  # exited and reaped already
    try:
        return bool(select.select([fd], [], [], HANG_GUARD_S)[0])
    finally:
        os.close(fd)


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs Linux (os.pidfd_open)")
def test_a_child_past_its_time_is_stopped_with_its_own_children(tmp_path, monkeypatch):
    """SIGTERM to its process group (torchrun stops its workers on it), then SIGKILL to what
    ignored it: here the grandchild goes with SIGTERM, the child, deaf to it, with SIGKILL. Both
    wait on a signal, never on a clock."""
    monkeypatch.setattr(harness, "MIN_STEP_S", 0)
    monkeypatch.setattr(harness, "KILL_GRACE_S", 1)
    children: list[PastItsTimeOnceStarted] = []

    def popen(*args, **kwargs) -> PastItsTimeOnceStarted:
        children.append(PastItsTimeOnceStarted(*args, **kwargs))
        return children[-1]

    monkeypatch.setattr(harness.subprocess, "Popen", popen)
    check = harness.Check(DRY_RUN, tmp_path)
    script = (
        "import signal, subprocess, sys; "
        "signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "p = subprocess.Popen([sys.executable, '-c', 'import signal; signal.pause()'], "
        "preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL)); "
        "print('started', file=sys.stderr, flush=True); print(p.pid, flush=True); "
        "signal.pause()"
    )
    with pytest.raises(harness.StepFailed, match="hangs ran past 3 s and was killed") as failed:
        check.child([sys.executable, "-c", script], "hangs", 3)
    assert "started" in failed.value.figures["stderr_tail"]
    (child,) = children
    assert child.returncode == -signal.SIGKILL  # deaf to SIGTERM
    assert gone(int(child.first_line))  # the grandchild, its pid the child's first line
    child.stdout.close()


def test_train_figures_refuse_an_unfinished_run():
    start = {
        "type": "start",
        "iter": 0,
        "device": "cpu",
        "dtype": "float32",
        "n_params": 1,
        "tokens_per_iter": 8,
    }
    train = {"type": "train", "iter": 5, "loss": 3.0, "tokens_per_s": 100.0, "dt_ms": 80.0, "mfu": None}
    stopped = {"type": "done", "reason": "stopped", "iter": 5}
    with pytest.raises(harness.StepFailed, match="did not finish at iteration 10"):
        train_figures([start, train, stopped], 10)
    figures = train_figures([start, train, {**stopped, "reason": "finished", "iter": 10}], 10)
    assert (
        figures["tokens_per_s"] == 100.0
        and figures["timed_train_events"] == 1
        and figures["val_loss"] is None
    )
