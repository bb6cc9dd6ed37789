"""Issue 3 point 7: MFU by the PaLM formula against the present GPU's peak; unknown -> None.
The formula and the peak lookup run the cases the TypeScript estimates run too."""

import json
from pathlib import Path

import pytest
import torch

from wordplay_trainer.common.mfu import device_peak, flops_per_token, mfu, model_flops_per_token, peak_flops
from wordplay_trainer.train.model import GPT, GPTConfig

CASES = json.loads((Path(__file__).resolve().parents[2] / "test" / "cases" / "mfu.json").read_text())


def test_a_models_flops_count_its_own_head_size_and_frozen_weights_at_4_not_6():
    config = GPTConfig(vocab_size=64, block_size=16, n_layer=2, n_head=4, n_embd=32, head_dim=16, n_kv_head=2)
    model = GPT(config)
    n = model.num_params()
    assert model_flops_per_token(model, n, 16) == flops_per_token(n, 2, 4, 16, 16)
    # LoRA's base: no weight gradient, so 2 FLOPs a token less for each frozen weight
    frozen = [p for name, p in model.named_parameters() if name.startswith("transformer.h.0.")]
    for p in frozen:
        p.requires_grad_(False)
    saved = 2 * sum(p.numel() for p in frozen)
    assert model_flops_per_token(model, n, 16) == flops_per_token(n, 2, 4, 16, 16) - saved


def test_palm_formula():
    # GPT-2 124M at T=1024: 6N + 12*L*H*Q*T
    n = 124_000_000
    assert flops_per_token(n, 12, 12, 64, 1024) == 6 * n + 12 * 12 * 12 * 64 * 1024


@pytest.mark.parametrize("case", CASES["flops_per_token"], ids=lambda c: c["name"])
def test_palm_formula_case_table(case):
    head_dim = case["n_embd"] // case["n_head"]
    got = flops_per_token(case["n_params"], case["n_layer"], case["n_head"], head_dim, case["block_size"])
    assert got == case["flops"]


def test_peak_table():
    assert peak_flops("NVIDIA A100-SXM4-80GB") == 312e12
    assert peak_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert peak_flops("NVIDIA H100 PCIe") == 756e12
    assert peak_flops("NVIDIA H200") == 989e12
    assert peak_flops("NVIDIA L4") == 121e12
    assert peak_flops("NVIDIA A10") == 125e12
    assert peak_flops("NVIDIA GeForce RTX 4090") == 165.2e12
    assert peak_flops("NVIDIA GeForce RTX 3090") == 71e12
    assert peak_flops("NVIDIA L40S") == 362e12


@pytest.mark.parametrize("case", CASES["peak_flops"], ids=lambda c: c["device"])
def test_peak_table_case_table(case):
    assert peak_flops(case["device"]) == case["flops"]


def test_unknown_device_gives_none():
    assert peak_flops("Some Future GPU") is None
    assert peak_flops(None) is None
    assert device_peak(torch.device("mps")) == (None, "no peak known for mps")  # the CPU's: test_cpu_peak.py
    assert mfu(1e9, 1e4, None) is None
    assert abs(mfu(1e9, 1e5, 1e15) - 0.1) < 1e-12
