"""Files and folders that appear whole: a reader (the extension, a completion, a later run)
sees the old version or the new one, never half of one.

A file is written under a hidden temporary name beside its target, flushed to disk, then renamed
over the target (`replacing`, `write_atomic`): a rename within a folder is atomic. A folder is
filled under a hidden name beside its target and renamed into place (`new_folder`). Hidden names
start with a dot, which every reader skips. The checkpoint's folder swap (train/checkpoint.py)
and the kept exports' (export/kept_exports.py) are protocols of their own, built on the fsyncs
here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import TrainerError


def require_new_folder(out: Path) -> None:
    """An export's --out must not be there yet, or be an empty folder: nothing is replaced."""
    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        raise TrainerError(
            f"--out {out} exists and is not an empty folder: name a new folder for the export, "
            "or empty this one",
            "--out",
        )


def fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def fsync_dir(path: Path) -> None:
    """The folder's entries (a rename, a new file) on disk too."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # platforms without directory fds (Windows)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` for the block to write (itself, or through a library that
    takes a path); when the block ends it is synced and renamed over `path`, and when the block
    raises it is removed."""
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        fsync_file(tmp)
        os.chmod(tmp, 0o644)  # mkstemp's file is the owner's alone
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, text: str) -> None:
    """`text` as the UTF-8 file `path`, replaced whole."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def new_folder(final: Path) -> Iterator[Path]:
    """A hidden folder beside `final`, .<name>.tmp-<pid> (the pid tells a reader whose it is),
    for the block to fill; when the block ends it is renamed to `final`, which must be absent or
    an empty folder, and when the block raises it is removed."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)  # this pid's, left by a process long gone
    try:
        # inside the try: a Ctrl-C (SIGINT) just after mkdir still removes it
        tmp.mkdir()  # mkdir keeps the umask's permissions
        yield tmp
        if final.exists():
            final.rmdir()  # empty; a rename cannot replace a folder on every platform
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
