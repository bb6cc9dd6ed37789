"""The stop request: SIGINT or SIGTERM, or the run's watcher gone for longer than a grace period.

The watcher is the process named by WORDPLAY_STOP_WITH_PID (the VS Code window or the terminal's
`wordplay train` that started the run), or the one a later window recorded in the run dir's
watcher.json when it took the run over. The grace period (WORDPLAY_STOP_GRACE_S, 15 s unless
set) lets a reloaded window take over before the run stops. The training loop reads the flag
after each step, and every rank agrees on it through the step's all-reduce."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from ..common.log import log


class StopFlag:
    def __init__(
        self, watch_pid: int | None = None, watcher_file: Path | None = None, grace_s: float = 15.0
    ) -> None:
        self.signum: int | None = None
        self._previous: dict = {}
        self._watch_pid = watch_pid
        self._watcher_file = watcher_file
        self._grace_s = grace_s
        self._checked_at = 0.0
        self._orphaned_at: float | None = None

    @classmethod
    def from_environment(cls, watcher_file: Path) -> StopFlag:
        """Watching WORDPLAY_STOP_WITH_PID, with WORDPLAY_STOP_GRACE_S's grace; a value that is
        not a number is ignored, as if unset."""
        watch = os.environ.get("WORDPLAY_STOP_WITH_PID", "")
        grace = os.environ.get("WORDPLAY_STOP_GRACE_S", "")
        return cls(
            int(watch) if watch.isdigit() else None,
            watcher_file,
            float(grace) if grace.replace(".", "", 1).isdigit() else 15.0,
        )

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum, _frame) -> None:
        if self.signum is None:
            log("wordplay: stopping after this step; saving a checkpoint ...")
        self.signum = signum

    def _watcher(self) -> int | None:
        """The pid a window recorded when it took the run over, else the one that started it."""
        if self._watcher_file is not None:
            try:
                pid = json.loads(self._watcher_file.read_text())["pid"]
                if isinstance(pid, int) and pid > 0:
                    return pid
            except (OSError, ValueError, KeyError, TypeError):
                pass
        return self._watch_pid

    def _watcher_gone_long_enough(self) -> bool:
        now = time.monotonic()
        if self._watch_pid is None or now - self._checked_at < 1.0:
            return False
        self._checked_at = now
        watcher = self._watcher()
        try:
            os.kill(watcher, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        except PermissionError:
            alive = True
        if alive:
            if self._orphaned_at is not None:
                log(f"wordplay: process {watcher} took the run over; training on")
            self._orphaned_at = None
            return False
        if self._orphaned_at is None:
            self._orphaned_at = now
            log(
                f"wordplay: process {watcher}, which started this run, is gone; stopping in "
                f"{self._grace_s:g} s unless a VS Code window takes the run over ..."
            )
        return now - self._orphaned_at >= self._grace_s

    @property
    def set(self) -> bool:
        if self.signum is None and self._watcher_gone_long_enough():
            log("wordplay: no window took the run over; stopping after this step ...")
            self.signum = signal.SIGTERM
        return self.signum is not None
