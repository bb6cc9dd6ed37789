"""What train.device, train.dtype and train.compile resolve to: the rules (common/compute.py) run
against test/cases/auto-rules.json, the table the config editor's estimate
(src/core/train/estimate.ts, test/unit/estimate.test.ts) is held to as well; and the wrappers
that ask PyTorch for the facts, on this machine."""

import json

import pytest
import torch
from conftest import TRAINER_DIR

from wordplay_trainer.common.compute import (
    compile_rule,
    device_rule,
    dtype_rule,
    resolve_device,
    resolve_dtype,
)
from wordplay_trainer.common.errors import TrainerError

CASES = json.loads((TRAINER_DIR.parent / "test" / "cases" / "auto-rules.json").read_text())


def outcome(rule, *args):
    """What a rule gives, or the key its TrainerError names."""
    try:
        return rule(*args)
    except TrainerError as e:
        assert e.key and e.key in e.message, e.message  # the message names the key at fault
        return {"error": e.key}


@pytest.mark.parametrize(
    "case", CASES["device"], ids=lambda c: f"{c['requested']}-cuda{c['cuda']}-mps{c['mps']}"
)
def test_device_rule(case):
    expected = {"error": case["error"]} if "error" in case else case["device"]
    assert outcome(device_rule, case["requested"], case["cuda"], case["mps"]) == expected


@pytest.mark.parametrize(
    "case", CASES["dtype"], ids=lambda c: f"{c['requested']}-{c['device']}-bf16{c['bf16']}"
)
def test_dtype_rule(case):
    expected = {"error": case["error"]} if "error" in case else case["dtype"]
    assert outcome(dtype_rule, case["requested"], case["device"], case["bf16"]) == expected


@pytest.mark.parametrize("case", CASES["compile"], ids=lambda c: f"{c['requested']}-{c['device']}")
def test_compile_rule(case):
    assert compile_rule(case["requested"], case["device"]) is case["compile"]


def test_the_table_has_error_rows_for_every_key():
    errors = {c["error"] for rows in (CASES["device"], CASES["dtype"]) for c in rows if "error" in c}
    assert errors == {"train.device", "train.dtype"}


def test_the_wrappers_on_this_machine():
    cpu = torch.device("cpu")
    assert resolve_device("cpu") == cpu
    assert resolve_dtype("auto", cpu) == "float32"
    if not torch.cuda.is_available():
        assert resolve_device("auto") in (cpu, torch.device("mps"))
        with pytest.raises(TrainerError) as info:
            resolve_device("cuda")
        assert info.value.key == "train.device" and "no CUDA GPU" in info.value.message
    with pytest.raises(TrainerError):
        resolve_dtype("float16", cpu)
