"""The GPU check's plumbing: each step run and recorded (passed, failed or skipped, its figures,
its seconds) whatever it raises, and the child processes the steps start, each within its own
cap and the check's budget. Past it, a child's process group gets SIGTERM, then SIGKILL (POSIX
only), and the step fails, as does a step that finds the budget spent."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from ..common.log import log
from ..common.schemas import PACKAGE_DIR
from .sizes import Sizes

BUDGET_S = 480  # the 8 minutes on one GPU
MIN_STEP_S = 10  # a child given less than this could not even import PyTorch
TAIL_CHARS = 3000  # of a failed child's stderr, kept in the report
KILL_GRACE_S = 20  # from SIGTERM to SIGKILL: torchrun stops its workers, a trainer checkpoints


class StepFailed(Exception):
    """A step's check did not hold: what failed, and the figures measured before it."""

    def __init__(self, message: str, **figures):
        super().__init__(message)
        self.message = message
        self.figures = figures


class StepSkipped(Exception):
    """A step that cannot run here; the message says why."""


class Check:
    """One run of the check: its scratch folder, its deadline, and each step's record."""

    def __init__(self, sizes: Sizes, work: Path):
        self.sizes = sizes
        self.work = work
        self.deadline = time.monotonic() + BUDGET_S
        self.steps: dict[str, dict] = {}

    def step(self, name: str, fn: Callable[[], dict], needs: tuple[str, ...] = ()) -> None:
        """Runs one step and records it; nothing it raises stops the check."""
        t0 = time.monotonic()
        record: dict
        try:
            missing = [n for n in needs if self.steps[n]["status"] != "passed"]
            if missing:
                raise StepSkipped(f"needs the {' and '.join(missing)} step(s), which did not pass")
            record = {"status": "passed", **fn()}
        except StepSkipped as e:
            record = {"status": "skipped", "reason": str(e)}
        except StepFailed as e:
            record = {"status": "failed", "error": e.message, **e.figures}
        except Exception as e:  # noqa: BLE001 - a broken step is a failed step, never a lost report
            traceback.print_exc()
            record = {"status": "failed", "error": f"{type(e).__name__}: {e}"}
        seconds = time.monotonic() - t0
        self.steps[name] = {"status": record.pop("status"), "seconds": seconds, **record}
        detail = record.get("error") or record.get("reason")
        log(
            f"[gpu-check] {name}: {self.steps[name]['status']} in {seconds:.1f} s"
            + (f": {detail}" if detail else "")
        )

    def child(self, args: list[str], what: str, cap: int) -> str:
        """Runs a child process to its end within min(cap, the budget left); returns its stdout.
        Its stderr goes to a log file, whose tail a failure carries."""
        timeout = min(cap, self.deadline - time.monotonic())
        if timeout < MIN_STEP_S:
            raise StepFailed(f"the {BUDGET_S // 60}-minute budget was spent before {what}")
        log(f"[gpu-check] {what}: {' '.join(args)} (at most {timeout:.0f} s)")
        stderr_path = self.work / f"{what.replace(' ', '-')}.log"
        with open(stderr_path, "w", encoding="utf-8") as stderr:
            proc = subprocess.Popen(
                args,
                cwd=self.work,
                env=child_env(),
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                start_new_session=True,  # its own process group: a kill reaches torchrun's workers
            )
            try:
                stdout, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_group(proc)
                raise StepFailed(
                    f"{what} ran past {timeout:.0f} s and was killed", stderr_tail=tail(stderr_path)
                ) from None
            except BaseException:  # Ctrl-C: the child is in a session of its own and would live on
                kill_group(proc)
                raise
        if proc.returncode != 0:
            raise StepFailed(f"{what} exited with {proc.returncode}", stderr_tail=tail(stderr_path))
        return stdout


def kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the child's process group, then SIGKILL to whatever of it is left after the
    grace. SIGTERM first because torchrun starts its workers in sessions of their own: a SIGKILL
    would orphan them on the GPU, while SIGTERM has torchrun stop them before it exits."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=KILL_GRACE_S)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def child_env() -> dict:
    """This environment, with the trainer importable and its output unbuffered; training
    children skip their export (the export step runs it as a command of its own)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_DIR.parent), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env["WORDPLAY_SKIP_EXPORT"] = "1"
    return env


def tail(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-TAIL_CHARS:]
