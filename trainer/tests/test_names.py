"""schemas/names.json's rules (common/names.py) run against test/cases/names.json, the cases
test/unit/names.test.ts holds the TypeScript side to: safe names and run folder names. (Next free
names are the TypeScript side's alone: the trainer never picks one.)"""

import json
from datetime import datetime

import pytest
from conftest import TRAINER_DIR

from wordplay_trainer.common.names import run_folder_name, safe_name
from wordplay_trainer.run.rundir import default_run_dir

CASES = json.loads((TRAINER_DIR.parent / "test" / "cases" / "names.json").read_text())


@pytest.mark.parametrize("case", CASES["safe"], ids=lambda c: c["name"])
def test_safe_name(case):
    assert safe_name(case["name"]) == case["safe"]


@pytest.mark.parametrize("case", CASES["run_folder"], ids=lambda c: c["config"])
def test_run_folder_name(case):
    assert run_folder_name(case["config"], datetime(*case["time"])) == case["folder"]


def test_default_run_dir_is_a_safe_run_folder_under_runs(tmp_path):
    before = datetime.now().replace(microsecond=0)
    folder = default_run_dir("my config (v2)", tmp_path)
    assert folder.parent == tmp_path / "runs"
    stamp, name = folder.name[:15], folder.name[16:]
    assert name == "my-config-v2-" and datetime.strptime(stamp, "%Y%m%d-%H%M%S") >= before
