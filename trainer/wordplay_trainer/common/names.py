"""How wordplay names what it makes, by the rules in schemas/names.json (the TypeScript side,
src/core/common/names.ts, reads the same file; test/cases/names.json holds both to them): a safe
name keeps letters, digits, `_`, `.` and `-`, every other run of characters becoming one `-`,
and a run folder is <stamp>-<safe config name>, the stamp the local time as YYYYMMDD-HHMMSS.

Next free names (<stem>-2<ext>, …) are chosen on the TypeScript side alone (where an export
goes), so the trainer has no function for them."""

from __future__ import annotations

import re
from datetime import datetime

from .schemas import read_json

NAMES = read_json("names.json")
UNSAFE = re.compile(NAMES["unsafe"])


def safe_name(name: str) -> str:
    return UNSAFE.sub(NAMES["replacement"], name)


def run_folder_name(config_name: str, when: datetime) -> str:
    return f"{when:%Y%m%d-%H%M%S}-{safe_name(config_name)}"
