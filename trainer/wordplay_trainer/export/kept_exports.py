"""Kept exports (train.keep_exports): completion models from evaluations along a run, so Compare
Completions can set the model's text at iteration 200 beside its text at iteration 2000.

At every evaluation the trainer (rank 0) exports the model, fp32, into the run folder's
exports/iter-<iteration, 6 digits>/ (model.onnx + model.json, as onnx_model.py writes them; the
train command hands this module the loop's model) and then applies the keep rule to what the
folder holds:

    while more than N are kept, drop the one whose two neighbours are closest together
    (the earlier on a tie), never the first nor the latest; N = 1 keeps the latest alone.

So the kept iterations stay spread from the start of the run to now, the gaps roughly even.
Exports from iterations after the one being exported came from a run that has since resumed
from an earlier checkpoint: they go too.

A folder appears whole: it is written into exports/.tmp-<name>-<pid>/ and renamed into place;
a dropped one is renamed to exports/.drop-<name>-<pid>/ before it is deleted. Readers skip names
starting with a dot. An export is a few tenths of a second for the small models this is meant
for; for a large one each kept folder is the whole model on disk, hence the schema's bound of 8.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

NAME = re.compile(r"^iter-(\d+)$")


def folder_name(iteration: int) -> str:
    return f"iter-{iteration:06d}"


def kept(exports_dir: Path) -> dict[int, Path]:
    """The complete kept exports in exports_dir, by iteration."""
    if not exports_dir.is_dir():
        return {}
    found = {}
    for p in exports_dir.iterdir():
        m = NAME.match(p.name)
        if m and p.is_dir():
            found[int(m.group(1))] = p
    return found


def to_drop(iterations: list[int], limit: int) -> list[int]:
    """The iterations the keep rule drops so that at most `limit` (>= 1) stay; the latest stays."""
    left = sorted(iterations)
    dropped = []
    while len(left) > limit:
        if limit == 1:
            i = 0
        else:
            # the interior one whose going leaves the smallest gap
            i = min(range(1, len(left) - 1), key=lambda j: (left[j + 1] - left[j - 1], j))
        dropped.append(left.pop(i))
    return dropped


def _remove(folder: Path) -> None:
    gone = folder.with_name(f".drop-{folder.name}-{os.getpid()}")
    os.replace(folder, gone)
    shutil.rmtree(gone)


def keep_export(exports_dir: Path, iteration: int, limit: int, write: Callable[[Path], None]) -> Path:
    """Writes this iteration's export with `write(folder)`, whole, then drops what the keep rule
    says; returns the new folder."""
    exports_dir.mkdir(parents=True, exist_ok=True)
    final = exports_dir / folder_name(iteration)
    tmp = exports_dir / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        write(tmp)
        if final.exists():  # the same iteration again, after a resume
            _remove(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    existing = kept(exports_dir)
    for it in [it for it in existing if it > iteration]:
        _remove(existing.pop(it))
    for it in to_drop(list(existing), limit):
        _remove(existing[it])
    return final
