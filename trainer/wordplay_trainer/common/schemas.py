"""The data files the trainer shares with the TypeScript side: schemas/*.json (the run-config
schema, the GPU peak table, the run folder's file names, GPT-2's facts, the model and dataset
contracts, naming rules). Each fact is written once, in one of those files, and both languages
read it.

schemas/ lies beside trainer/, in a checkout as in the installed extension; WORDPLAY_SCHEMA_DIR
names another folder when the trainer runs without it beside (a copy of trainer/ alone)."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from .errors import TrainerError

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # trainer/wordplay_trainer


def schemas_path(name: str) -> Path:
    base = os.environ.get("WORDPLAY_SCHEMA_DIR")
    return (Path(base) if base else PACKAGE_DIR.parents[1] / "schemas") / name


@functools.cache
def read_json(name: str) -> dict:
    path = schemas_path(name)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TrainerError(
            f"{path} is missing: the trainer reads it from the schemas/ folder beside trainer/; "
            "reinstall wordplay, or set WORDPLAY_SCHEMA_DIR to a folder that holds it",
            str(path),
        ) from None
