"""train.time_budget_s on the clock: how far a budgeted run is, its learning rate, and when it
must end so that its last evaluation, checkpoint and export still fit.

The clock starts with the trainer's set-up (train/loop.py: Trainer.setup), so the budget holds
everything after it: building the model, compilation, the steps, evaluations, checkpoints and the
export that commands/train.py runs after the loop. The training time is the budget less a
reserve for that end: the latest evaluation's measured duration (its checkpoint and kept export
included when it wrote them), a checkpoint's write predicted from the parameters (the last
evaluation may write one where the latest did not) and the export, predicted from them too
(measured on the 2-core development VM: importing onnx 1.3 s, then writing the graph 0.04 s at
0.8M parameters, 0.5 s at 10.8M, 4.8 s at 124M; the export runs once, after the loop, so it
cannot be timed before it is needed).
A budgeted run evaluates where it starts, as nanoGPT does at iteration 0, so that reserve is
measured from the outset.

The run ends when the next step would cross into the reserve, or at its last iteration, whichever
comes first; progress, which drives the learning rate (optimizer.budget_learning_rate), is the
further along of the two, so the cool-down ends with the run either way. With a budget,
train.max_iters caps the iterations of this run, a resumed one counting from where it resumes.
Under several processes every figure that decides is agreed on at each step's all-reduce (the
mean of each process's own clock and reserve: loop.py's _sync), so all take the same learning
rate and end at the same step.
"""

from __future__ import annotations

import statistics
import time
from collections import deque

from ..common.compute import COMPILE
from ..common.log import log
from .optimizer import budget_learning_rate
from .run_config import OptimizerConfig, RunConfig

EXPORT_FIXED_S = 2.0  # importing onnx and reading the checkpoint back
EXPORT_S_PER_PARAM = 5e-8  # the graph and its weights written (40 ns a parameter measured, and a margin)
SAVE_S_PER_PARAM = 3e-8  # weights and AdamW's two moments, 12-16 bytes a parameter, at ~500 MB/s
STEPS_TIMED = 5  # the latest steps whose median predicts the next one's duration


class Budget:
    def __init__(
        self, seconds: float, t0: float, start_iter: int, max_iters: int, n_params: int, master: bool = False
    ):
        self.seconds = seconds
        self.t0 = t0  # time.perf_counter() when the set-up began
        self.start_iter = start_iter
        self.end_iter = start_iter + max_iters
        self.max_iters = max_iters
        self.export_s = EXPORT_FIXED_S + EXPORT_S_PER_PARAM * n_params
        self.save_s = SAVE_S_PER_PARAM * n_params
        self.eval_s = 0.0  # the latest evaluation's
        self.elapsed = 0.0  # as all processes agreed at the latest step
        self.reserve = self.local_reserve()
        self.steps: deque[float] = deque(maxlen=STEPS_TIMED)
        self._last: float | None = None  # elapsed at the step before; None after an evaluation
        self.warned = False
        self.master = master  # rank 0 logs the warning

    def now(self) -> float:
        return time.perf_counter() - self.t0

    def local_reserve(self) -> float:
        """This process's prediction of the end: the last evaluation, checkpoint and export."""
        return self.eval_s + self.save_s + self.export_s

    def local(self) -> list[float]:
        """What this process contributes to the step's all-reduce: its clock and its reserve."""
        return [self.now(), self.local_reserve()]

    def agree(self, it: int, elapsed: float, reserve: float) -> None:
        """The figures every process agreed on at iteration `it`'s step (the mean over processes)."""
        if self._last is not None:
            self.steps.append(elapsed - self._last)
        self._last, self.elapsed, self.reserve = elapsed, elapsed, reserve
        if (warning := self.warning(it + 1)) and self.master:
            log(warning)

    def evaluated(self, seconds: float) -> None:
        """An evaluation (with whatever it wrote) took `seconds`."""
        self.eval_s = seconds
        self._last = None  # the step after it is timed from its own start

    @property
    def step_s(self) -> float:
        return statistics.median(self.steps) if self.steps else 0.0

    def progress(self, it: int) -> float:
        """How far the run is, 0..1: the share of its training time spent, or of its iterations,
        whichever is further."""
        by_time = self.elapsed / max(self.seconds - self.reserve, 1e-9)
        by_iters = (it - self.start_iter) / self.max_iters
        return min(1.0, max(by_time, by_iters))

    def learning_rate(self, it: int, opt: OptimizerConfig) -> float:
        return budget_learning_rate(it - self.start_iter, self.progress(it), opt)

    def spent(self) -> bool:
        """Whether the next step would run into the reserve for the end."""
        return self.elapsed + self.step_s >= self.seconds - self.reserve

    def warning(self, it: int) -> str | None:
        """At most once: a line when what came before the first step and the end alone take the
        whole budget, or, once the first steps are timed, when train.max_iters would end the run
        before it used half its budget."""
        if self.warned:
            return None
        if self.elapsed + self.reserve >= self.seconds:
            self.warned = True
            return (
                f"wordplay: warning: train.time_budget_s {self.seconds:g} leaves no time to train: the "
                f"set-up and first step took {self.elapsed:.0f} s and the last evaluation, checkpoint "
                f"and export take about {self.reserve:.0f} s; raise it"
            )
        if len(self.steps) < STEPS_TIMED:
            return None
        self.warned = True
        at_end = self.elapsed + (self.end_iter - it) * self.step_s + self.reserve
        if at_end >= self.seconds / 2:
            return None
        fit = (
            it - self.start_iter + int((self.seconds - self.reserve - self.elapsed) / max(self.step_s, 1e-9))
        )
        return (
            f"wordplay: warning: train.max_iters {self.max_iters} ends this run after about {at_end:.0f} s "
            f"of its {self.seconds:g} s budget (train.time_budget_s); about {fit:,} iterations fit in "
            "it: raise train.max_iters to use the budget"
        )


def run_budget(cfg: RunConfig, t0: float, start_iter: int, n_params: int, master: bool) -> Budget | None:
    """The budget of a run with train.time_budget_s, from where it starts; None without one."""
    t = cfg.train
    if t.time_budget_s is None:
        return None
    return Budget(t.time_budget_s, t0, start_iter, t.max_iters, n_params, master)


def compiling_message(time_budget_s: float | None, device_type: str) -> str:
    """The line a compiled run logs, and a warning under it for a CPU run whose budget is shorter
    than the shortest that compile auto compiles (so train.compile true asked for it): the first
    compilation, with inductor's cache empty, takes about a minute that the budget cannot cut."""
    line = "wordplay: compiling the model (torch.compile) ..."
    if time_budget_s is None or device_type != "cpu" or time_budget_s >= COMPILE["cpu_min_run_seconds"]:
        return line
    return (
        f"{line}\nwordplay: warning: train.compile true under train.time_budget_s {time_budget_s:g}: "
        f"on a CPU a first compilation takes about {COMPILE['cpu_compile_seconds']} s, which the budget "
        "cannot interrupt, so the run can end that much late; set train.compile auto, which compiles "
        "no CPU run this short"
    )
