"""What train.device, train.dtype and train.compile resolve to: the rules (common/compute.py) run
against test/cases/auto-rules.json, the table the config editor's estimate
(src/core/train/estimate.ts, test/unit/estimate.test.ts) is held to as well; and the wrappers
that ask PyTorch for the facts, on this machine."""

import json
import os

import pytest
import torch
from conftest import TRAINER_DIR, tiny_config

from wordplay_trainer.common.compute import (
    CPU_EAGER_MFU,
    compile_rule,
    cpu_run_seconds,
    device_rule,
    dtype_rule,
    resolve_device,
    resolve_dtype,
)
from wordplay_trainer.common.errors import TrainerError
from wordplay_trainer.run.events import EventWriter
from wordplay_trainer.run.rundir import RunDir
from wordplay_trainer.train.config import load_config
from wordplay_trainer.train.loop import Trainer
from wordplay_trainer.train.stop import StopFlag

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


@pytest.mark.parametrize("case", CASES["compile"], ids=lambda c: "-".join(str(v) for v in c.values()))
def test_compile_rule(case):
    c = case
    assert (
        compile_rule(c["requested"], c["device"], c["run_seconds"], c["n_embd"], c["dropout"]) is c["compile"]
    )


def test_a_cpu_runs_length_for_the_compile_rule():
    # its FLOPs at CPU_EAGER_MFU of the measured peak, at most its time budget
    assert cpu_run_seconds(3e13, 1e11, None) == pytest.approx(3e13 / (1e11 * CPU_EAGER_MFU))
    assert cpu_run_seconds(3e13, 1e11, 60.0) == 60.0
    assert cpu_run_seconds(1e9, 1e11, 60.0) == pytest.approx(1e9 / (1e11 * CPU_EAGER_MFU))
    assert cpu_run_seconds(1e9, None, None) is None and cpu_run_seconds(1e9, None, 900.0) == 900.0


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


@pytest.mark.parametrize(
    ("train", "compiled"),
    [
        ({"max_iters": 20}, False),  # seconds: never worth compiling
        ({"max_iters": 10**9}, True),  # a narrow model without dropout, for hours
        ({"max_iters": 10**9, "time_budget_s": 60}, False),  # its budget ends it first
        ({"max_iters": 10**9, "compile": "false"}, False),
    ],
)
def test_the_trainer_compiles_a_cpu_run_by_the_rule(tmp_path, dataset, monkeypatch, train, compiled):
    # the set-up's decision alone: torch.compile compiles at the first step, which never comes
    monkeypatch.setenv("WORDPLAY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", "")  # restored afterwards, whatever it was
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR")
    cfg = load_config(tiny_config(dataset, train={**train, "compile": train.get("compile", "auto")}))
    trainer = Trainer(cfg, RunDir(tmp_path / "run"), EventWriter(tmp_path / "events.jsonl"), StopFlag())
    trainer.setup()
    assert (trainer.compiled is not trainer.model) is compiled
    if compiled:  # a CPU's compiled kernels are kept in the user cache, for the next run
        assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path / "cache" / "torchinductor")
    assert trainer.peak > 0 and trainer.peak_source.startswith("measured: ")
