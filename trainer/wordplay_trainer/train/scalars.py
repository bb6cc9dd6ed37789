"""Copies of the run's scalars for the dashboards people already use: Weights & Biases
(logging.wandb) and TensorBoard (logging.tensorboard: PyTorch's SummaryWriter, event files in
the run folder's tensorboard/). events.jsonl stays the record wordplay itself reads. Only rank 0
writes them. Each is optional: a missing package is a warning, never a failed run.
"""

from __future__ import annotations

from ..common.log import log
from ..run.rundir import RunDir
from .run_config import RunConfig


class Scalars:
    def __init__(self, cfg: RunConfig, run_dir: RunDir):
        self.wandb = None
        self.tensorboard = None
        lg = cfg.logging
        if lg.wandb:
            try:
                import wandb
            except ImportError:
                log(
                    "wordplay: warning: logging.wandb is on but wandb is not installed; continuing without it"
                )
            else:
                wandb.init(
                    project=lg.wandb_project,
                    name=lg.wandb_run_name or run_dir.root.name,
                    config=cfg.as_dict(),
                )
                self.wandb = wandb
        if lg.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                log(
                    "wordplay: warning: logging.tensorboard is on but tensorboard is missing (wordplay setup)"
                )
            else:
                self.tensorboard = SummaryWriter(log_dir=str(run_dir.tensorboard))

    def log(self, step: int, scalars: dict[str, float | None]) -> None:
        """Scalars of one iteration by name ("train/loss", "val/bpb"); None values are left out."""
        values = {name: value for name, value in scalars.items() if value is not None}
        if self.wandb:
            self.wandb.log({"iter": step, **values})
        if self.tensorboard:
            for name, value in values.items():
                self.tensorboard.add_scalar(name, value, step)
            self.tensorboard.flush()

    def close(self) -> None:
        if self.tensorboard:
            self.tensorboard.close()
