"""The per-user cache folder, where the trainer keeps what it measured about this machine (the
CPU's peak: cpu_peak.py) and torch.compile's kernels for the CPU (compute.py): the folder
src/core/common/paths.ts's cacheDir names, WORDPLAY_CACHE_DIR or the platform's own."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def cache_dir() -> Path:
    if os.environ.get("WORDPLAY_CACHE_DIR"):
        return Path(os.environ["WORDPLAY_CACHE_DIR"]).resolve()
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", home)) / "wordplay" / "Cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "wordplay"
    return Path(os.environ.get("XDG_CACHE_HOME", home / ".cache")) / "wordplay"
