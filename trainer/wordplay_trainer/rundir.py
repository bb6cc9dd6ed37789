"""The run directory's layout: the one place in Python that knows its file names."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def events(self) -> Path:
        return self.root / "events.jsonl"

    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoint"

    def checkpoint_tmp(self, pid: int) -> Path:
        return self.root / f"checkpoint.tmp-{pid}"

    def checkpoint_old(self, pid: int) -> Path:
        return self.root / f"checkpoint.old-{pid}"

    def previous_checkpoints(self) -> list[Path]:
        """Complete checkpoints left beside by a swap interrupted between its two renames."""
        return sorted(self.root.glob("checkpoint.old-*"), key=lambda p: p.stat().st_mtime, reverse=True)

    @property
    def watcher(self) -> Path:
        """watcher.json: the window that took over a run whose starter is gone (see StopFlag)."""
        return self.root / "watcher.json"

    @property
    def onnx(self) -> Path:
        return self.root / "model.onnx"

    @property
    def model_json(self) -> Path:
        return self.root / "model.json"


# files inside checkpoint/
MODEL_FILE = "model.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
OPTIMIZER_JSON = "optimizer.json"
STATE_FILE = "state.json"


def default_run_dir(config_name: str, base: Path | None = None) -> Path:
    """runs/<YYYYMMDD-HHMMSS>-<config name> under the current directory."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return (base or Path.cwd()) / "runs" / f"{stamp}-{config_name}"
