"""A run its launcher started again resumes by itself: torchrun restarts the group after a
process failed (distributed.max_restarts), SLURM requeues a job (preemption, a node failure,
`scontrol requeue`). Each says how often in its environment; such a launch continues from the
run's last checkpoint, as train.init_from=resume does."""

from __future__ import annotations

import os
from dataclasses import replace

from ..common.log import log
from ..run.rundir import RunDir
from .run_config import RunConfig

# how often the launcher has started this run again: torchrun after a failed process, SLURM
# after a requeue (each counts from 0)
RESTART_COUNTS = ("TORCHELASTIC_RESTART_COUNT", "SLURM_RESTART_COUNT")


def restart_count() -> int:
    counts = (os.environ.get(name, "") for name in RESTART_COUNTS)
    return max((int(c) for c in counts if c.isdigit()), default=0)


def resume_if_restarted(cfg: RunConfig, run_dir: RunDir) -> RunConfig:
    """The config this launch trains: train.init_from becomes resume when the launcher started
    the run again and it has a checkpoint; before its first checkpoint it starts again as
    configured."""
    restarts = restart_count()
    if restarts == 0 or cfg.train.init_from == "resume" or not run_dir.has_checkpoint():
        return cfg
    if int(os.environ.get("RANK", 0)) == 0:
        log(f"wordplay: restart {restarts} of this run: resuming from its last checkpoint")
    return replace(cfg, train=replace(cfg.train, init_from="resume"))
