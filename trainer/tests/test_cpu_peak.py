"""Issue 30, the CPU used well: its peak FLOP/s, measured by a short matmul calibration and kept
per machine (common/cpu_peak.py), so MFU is reported on CPUs, with how the peak was found in the
start event; and a training step that does not fault its freed memory in again (common/compute.py)."""

import json
import math
import subprocess
import sys

import pytest
import torch
from conftest import by_type, read_events, run_trainer, tiny_config, trainer_env, write_config

from wordplay_trainer.common import cpu_peak
from wordplay_trainer.common.mfu import device_peak


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WORDPLAY_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / cpu_peak.CACHE_FILE


def test_the_peak_is_measured_once_then_read_from_the_cache(cache, monkeypatch):
    flops, how = cpu_peak.cpu_peak("float32", 1)
    assert math.isfinite(flops) and flops > 1e8, flops  # any CPU that runs PyTorch does 0.1 GFLOP/s
    assert how == "measured: 1024x1024 float32 matmul, 1 thread"
    kept = json.loads(cache.read_text())
    (key,) = kept
    assert cpu_peak.cpu_name() in key and "1 threads" in key and "float32" in key and torch.__version__ in key
    assert kept[key]["flops"] == flops

    def measure_again(*_):
        raise AssertionError("measured again: the kept peak was not read")

    monkeypatch.setattr(cpu_peak, "measure", measure_again)
    again, how_again = cpu_peak.cpu_peak("float32", 1)
    assert again == flops and how_again.startswith("measured: 1024x1024 float32 matmul, 1 thread, kept ")


def test_each_thread_count_and_dtype_is_measured_on_its_own(cache, monkeypatch):
    calls = []

    def measure(threads, dtype):
        calls.append((threads, dtype))
        return 5e10, 1024

    monkeypatch.setattr(cpu_peak, "measure", measure)
    cpu_peak.cpu_peak("float32", 1)
    cpu_peak.cpu_peak("float32", 2)
    cpu_peak.cpu_peak("bfloat16", 1)
    cpu_peak.cpu_peak("float32", 2)  # kept
    assert calls == [(1, torch.float32), (2, torch.float32), (1, torch.bfloat16)]
    assert len(json.loads(cache.read_text())) == 3


def test_a_broken_cache_file_is_measured_over(cache, monkeypatch):
    cache.parent.mkdir(parents=True)
    cache.write_text("{not json")
    monkeypatch.setattr(cpu_peak, "measure", lambda threads, dtype: (5e10, 1024))
    assert cpu_peak.cpu_peak("float32", 1) == (5e10, "measured: 1024x1024 float32 matmul, 1 thread")
    assert len(json.loads(cache.read_text())) == 1


def test_device_peak_says_how_it_was_found(cache, monkeypatch):
    monkeypatch.setattr(cpu_peak, "measure", lambda threads, dtype: (5e10, 1024))
    peak, how = device_peak(torch.device("cpu"), "float32")
    assert peak == 5e10 and how.startswith("measured: ")
    assert device_peak(torch.device("meta")) == (None, "no peak known for meta")


def test_a_cpu_run_reports_mfu_against_the_measured_peak(cache, tmp_path, dataset):
    cfg = write_config(tmp_path / "c.json", tiny_config(dataset, train={"max_iters": 10}))
    assert run_trainer(cfg, tmp_path / "run") == 0
    events = read_events(tmp_path / "run")
    start = events[0]
    assert start["peak_flops"] > 0 and start["peak_source"].startswith("measured: ")
    assert f"{torch.get_num_threads()} thread" in start["peak_source"]
    # the PaLM FLOPs of tiny_config's model (1 layer, 2 heads of 8, block 16) per token
    flops_token = 6 * start["n_params"] + 12 * 1 * 2 * 8 * 16
    for e in by_type(events, "train"):
        assert e["mfu"] == pytest.approx(flops_token * e["tokens_per_s"] / start["peak_flops"])
        assert 0 < e["mfu"] < 1
    assert cache.exists()  # kept for the next run


FAULTS = """
import resource, sys, torch
from wordplay_trainer.common.compute import keep_freed_memory
from wordplay_trainer.train.model import GPT, GPTConfig
keep_freed_memory()
torch.set_num_threads(1)
model = GPT(GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128))
opt = torch.optim.AdamW(model.parameters())
x = torch.randint(65, (12, 64))
def step():
    model(x, x)[1].backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
for _ in range(5):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings: Linux only")
def test_a_cpu_step_does_not_fault_its_memory_in_again():
    # nanogpt-shakespeare-char-cpu's shape: by default glibc returns a step's freed blocks to the
    # system and the next step faults them in again, 750-2,000 minor faults a step here; kept
    # (compute.keep_freed_memory), 0-120 (Python's own arenas)
    out = subprocess.run(
        [sys.executable, "-c", FAULTS], env=trainer_env(), capture_output=True, text=True, check=True
    )
    assert float(out.stdout) < 300, f"{out.stdout.strip()} minor page faults a step"
