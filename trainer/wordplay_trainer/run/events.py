"""events.jsonl: append-only, one JSON object per line, flushed per line (schemas/events.schema.json)."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any


def _clean(value: Any) -> Any:
    # JSON has no NaN or infinity: such a number is written as null, at any depth
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


class EventWriter:
    """Writes events on rank 0; elsewhere (enabled=False) every call is a no-op."""

    def __init__(self, path: Path, enabled: bool = True):
        self.path = path
        self.enabled = enabled
        self._file = None
        if enabled:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115
            if not _ends_a_line(path):
                # a writer killed mid-line (a power cut, a full disk) left it torn: end that
                # line, so this run's first event is not glued to it (readers skip it)
                self._file.write("\n")

    def emit(self, type: str, **fields: Any) -> dict:
        event = {"type": type, "time": time.time(), **_clean(fields)}
        if self._file is not None:
            self._file.write(json.dumps(event, separators=(",", ":"), allow_nan=False) + "\n")
            self._file.flush()
        return event

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _ends_a_line(path: Path) -> bool:
    with open(path, "rb") as f:
        if f.seek(0, os.SEEK_END) == 0:
            return True
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def read_events(path: Path) -> list[dict]:
    """Every complete event; a torn line (a writer killed mid-line) or garbage is skipped."""
    events = []
    if not path.exists():
        return events
    for line in path.read_bytes().split(b"\n"):
        try:
            event = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(event, dict) and "type" in event:
            events.append(event)
    return events
