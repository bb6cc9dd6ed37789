"""The run folder's layout. Its file names come from schemas/run-files.json, which the
TypeScript side reads too; this module turns them into paths. The trainer is the one writer of
config.json (`RunDir.write_config`), whoever launched it."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .schemas import read_json

if TYPE_CHECKING:
    from .config import RunConfig

RUN_FILES = read_json("run-files.json")["run"]
CHECKPOINT_FILES = read_json("run-files.json")["checkpoint"]

# files inside checkpoint/
MODEL_FILE = CHECKPOINT_FILES["model"]
OPTIMIZER_FILE = CHECKPOINT_FILES["optimizer"]
OPTIMIZER_JSON = CHECKPOINT_FILES["optimizer_json"]
STATE_FILE = CHECKPOINT_FILES["state"]


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / RUN_FILES["config"]

    @property
    def events(self) -> Path:
        return self.root / RUN_FILES["events"]

    @property
    def checkpoint(self) -> Path:
        return self.root / RUN_FILES["checkpoint"]

    def checkpoint_tmp(self, pid: int) -> Path:
        return self.root / f"{RUN_FILES['checkpoint']}.tmp-{pid}"

    def checkpoint_old(self, pid: int) -> Path:
        return self.root / f"{RUN_FILES['checkpoint']}.old-{pid}"

    def previous_checkpoints(self) -> list[Path]:
        """Complete checkpoints left beside by a swap interrupted between its two renames."""
        return sorted(
            self.root.glob(f"{RUN_FILES['checkpoint']}.old-*"), key=lambda p: p.stat().st_mtime, reverse=True
        )

    def has_checkpoint(self) -> bool:
        return self.checkpoint.is_dir() or bool(self.previous_checkpoints())

    @property
    def tensorboard(self) -> Path:
        return self.root / RUN_FILES["tensorboard"]

    @property
    def watcher(self) -> Path:
        """watcher.json: the window that took over a run whose starter is gone (see StopFlag)."""
        return self.root / RUN_FILES["watcher"]

    @property
    def onnx(self) -> Path:
        return self.root / RUN_FILES["onnx"]

    @property
    def model_json(self) -> Path:
        return self.root / RUN_FILES["model_json"]

    @property
    def exports(self) -> Path:
        """The completion models train.keep_exports keeps (kept_exports.py)."""
        return self.root / RUN_FILES["exports"]

    def write_config(self, config: RunConfig) -> None:
        """config.json, replaced whole (a reader never sees half a file)."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.config.with_name(f"{self.config.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(config.as_dict(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.config)


def default_run_dir(config_name: str, base: Path | None = None) -> Path:
    """runs/<YYYYMMDD-HHMMSS>-<config name> under the current directory."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return (base or Path.cwd()) / "runs" / f"{stamp}-{config_name}"
