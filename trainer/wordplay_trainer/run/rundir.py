"""The run folder's layout. Its file names come from schemas/run-files.json, which the
TypeScript side reads too; this module turns them into paths. The trainer is the one writer of
config.json (`RunDir.write_config`), whoever launched it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..common.files import write_atomic
from ..common.names import run_folder_name
from ..common.schemas import read_json

RUN_FILES = read_json("run-files.json")["run"]
CHECKPOINT_FILES = read_json("run-files.json")["checkpoint"]

# the completion model in the run folder (and in each kept export's)
ONNX_FILE = RUN_FILES["onnx"]
ONNX_INT8_FILE = RUN_FILES["onnx_int8"]
MODEL_JSON_FILE = RUN_FILES["model_json"]
# files inside checkpoint/
WEIGHTS_FILE = CHECKPOINT_FILES["model"]
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
        return self.root / ONNX_FILE

    @property
    def model_json(self) -> Path:
        return self.root / MODEL_JSON_FILE

    @property
    def exports(self) -> Path:
        """The completion models train.keep_exports keeps (export/kept_exports.py)."""
        return self.root / RUN_FILES["exports"]

    def write_config(self, config: dict) -> None:
        """config.json (a RunConfig's as_dict()), replaced whole: a reader never sees half a file."""
        self.root.mkdir(parents=True, exist_ok=True)
        write_atomic(self.config, json.dumps(config, indent=2) + "\n")


def default_run_dir(config_name: str, base: Path | None = None) -> Path:
    """runs/<YYYYMMDD-HHMMSS>-<safe config name> under the current directory (common/names.py)."""
    return (base or Path.cwd()) / "runs" / run_folder_name(config_name, datetime.now())
