"""Issue 3 point 1: the GPT-2 architecture; issue 16: its options, each against a computation
written out by hand."""

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from wordplay_trainer.train.layers import apply_rope, rope_angles
from wordplay_trainer.train.model import GPT, GPTConfig


def tiny(**kw) -> GPT:
    torch.manual_seed(0)
    return GPT(
        GPTConfig(**{"vocab_size": 65, "block_size": 16, "n_layer": 2, "n_head": 2, "n_embd": 32, **kw})
    )


def test_vocab_padded_and_head_tied():
    model = tiny()
    assert model.config.padded_vocab_size == 128
    assert model.lm_head.weight.shape == (128, 32)
    assert model.lm_head.weight is model.transformer.wte.weight


def test_gpt2_init_scales_residual_projections():
    model = GPT(GPTConfig(vocab_size=65, block_size=16, n_layer=8, n_head=2, n_embd=256))
    proj = model.transformer.h[0].mlp.c_proj.weight
    fc = model.transformer.h[0].mlp.c_fc.weight
    assert abs(fc.std().item() - 0.02) < 0.002
    assert abs(proj.std().item() - 0.02 / math.sqrt(16)) < 0.001


def test_sdpa_attention_is_causal():
    model = tiny().eval()
    x = torch.randint(65, (1, 10))
    logits_a, _ = model(x, x)
    y = x.clone()
    y[0, 7:] = (y[0, 7:] + 1) % 65  # changing the future must not change the past
    logits_b, _ = model(y, y)
    assert torch.allclose(logits_a[0, :7], logits_b[0, :7], atol=1e-6)


def test_biases_optional_and_dropout_off_in_eval():
    assert tiny(bias=True).transformer.h[0].attn.c_attn.bias is not None
    assert tiny().transformer.h[0].attn.c_attn.bias is None
    model = tiny(dropout=0.5).eval()
    x = torch.randint(65, (2, 8))
    assert torch.equal(model(x, x)[0], model(x, x)[0])


def test_cached_forward_matches_full_forward():
    model = tiny().eval()
    x = torch.randint(65, (1, 12))
    full, _ = model(x, x)
    past = model.empty_cache(1)
    logits = None
    for i in range(12):
        logits, past = model.forward_cached(x[:, i : i + 1], torch.tensor([[i]]), past)
    assert torch.allclose(logits, full[:, -1, :65], atol=1e-5)


def test_generate_never_samples_padding_and_crops():
    model = tiny().eval()
    with torch.no_grad():
        model.lm_head.weight[65:] = 10.0  # padding rows that would win if they were sampled
    out = model.generate(
        torch.zeros((1, 1), dtype=torch.long), 40, generator=torch.Generator().manual_seed(0)
    )
    assert out.shape == (1, 41) and int(out.max()) < 65
    model.crop_block_size(8)
    assert model.transformer.wpe.weight.shape[0] == 8
    x = torch.randint(65, (1, 8))
    assert model(x, x)[1] is not None
    assert F.softmax(model(x)[0], -1).shape == (1, 1, 128)


# ---- the architecture options (issue 16) ---------------------------------------------------

PARAM_CASES = json.loads((Path(__file__).resolve().parents[2] / "test" / "cases" / "params.json").read_text())


@pytest.mark.parametrize("case", PARAM_CASES["cases"], ids=lambda c: c["name"])
def test_parameter_counts_case_table(case):
    """The same counts as src/core/train/estimate.ts paramCount."""
    model = GPT(GPTConfig(**case["model"]))
    assert model.num_params() == case["params"]
    assert sum(p.numel() for p in model.parameters()) == case["params_total"]


def reference_rope(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """RoPE written out: each pair (i, i + D/2) of a head at position p turned by the 2x2
    rotation matrix of angle p / 10000^(2i/D). x is (B, H, T, D)."""
    out = x.clone()
    D = x.size(-1)
    for t, p in enumerate(positions.tolist()):
        for i in range(D // 2):
            angle = p / 10000 ** (2 * i / D)
            rotation = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
            pair = torch.stack([x[..., t, i], x[..., t, i + D // 2]], -1)  # (B, H, 2)
            turned = pair @ rotation.T
            out[..., t, i], out[..., t, i + D // 2] = turned[..., 0], turned[..., 1]
    return out


def test_rope_is_the_rotation_written_out():
    torch.manual_seed(1)
    x = torch.randn(2, 3, 5, 8)
    positions = torch.tensor([0, 1, 2, 7, 30])
    angles = rope_angles(8, positions, 10000.0)[None, None]
    assert torch.allclose(apply_rope(x, angles.cos(), angles.sin()), reference_rope(x, positions), atol=1e-5)
    # a rotation keeps lengths, and relative positions are all attention sees
    q, k = torch.randn(1, 1, 1, 8), torch.randn(1, 1, 1, 8)
    dots = []
    for shift in (0, 11):
        a = rope_angles(8, torch.tensor([3 + shift, 5 + shift]), 10000.0)[None, None]
        cos, sin = a.cos(), a.sin()
        dots.append(
            (
                apply_rope(q, cos[..., :1, :], sin[..., :1, :])
                * apply_rope(k, cos[..., 1:, :], sin[..., 1:, :])
            ).sum()
        )
    assert torch.allclose(dots[0], dots[1], atol=1e-5)


def reference_block(block, x: torch.Tensor, c: GPTConfig) -> torch.Tensor:
    """One block written out with plain tensor operations, for every option."""
    eps = 1e-5

    def norm(v, module):
        if c.norm == "rmsnorm":
            return v / torch.sqrt((v * v).mean(-1, keepdim=True) + eps) * module.weight
        mu = v.mean(-1, keepdim=True)
        out = (v - mu) / torch.sqrt(((v - mu) ** 2).mean(-1, keepdim=True) + eps) * module.weight
        return out + module.bias if module.bias is not None else out

    def lin(v, module):
        out = v @ module.weight.T
        return out + module.bias if module.bias is not None else out

    B, T, C = x.shape
    H, D = c.n_head, c.head_dim
    a = norm(x, block.ln_1)
    q, k, v = (t.view(B, T, H, D).transpose(1, 2) for t in lin(a, block.attn.c_attn).split(C, -1))
    if c.qk_norm:
        q = q / torch.sqrt((q * q).mean(-1, keepdim=True) + eps) * block.attn.q_norm.weight
        k = k / torch.sqrt((k * k).mean(-1, keepdim=True) + eps) * block.attn.k_norm.weight
    if c.position == "rope":
        q, k = reference_rope(q, torch.arange(T)), reference_rope(k, torch.arange(T))
    scores = q @ k.transpose(-1, -2) / math.sqrt(D)
    scores = scores.masked_fill(torch.ones(T, T).triu(1).bool(), float("-inf"))
    y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
    x = x + lin(y, block.attn.c_proj)
    m = norm(x, block.ln_2)
    h = lin(m, block.mlp.c_fc)
    if c.mlp == "swiglu":
        g = lin(m, block.mlp.c_gate)
        h = g / (1 + torch.exp(-g)) * h
    elif c.mlp == "relu2":
        h = torch.clamp(h, min=0) ** 2
    else:
        h = 0.5 * h * (1 + torch.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h**3)))
    return x + lin(h, block.mlp.c_proj)


OPTIONS = [
    {},
    {"bias": True},
    {"position": "rope"},
    {"norm": "rmsnorm"},
    {"qk_norm": True},
    {"mlp": "relu2"},
    {"mlp": "swiglu", "bias": True},
    {"position": "rope", "norm": "rmsnorm", "qk_norm": True, "mlp": "swiglu"},
]


@pytest.mark.parametrize(
    "options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "gpt2"
)
def test_block_matches_its_written_out_computation(options):
    model = tiny(**options).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)  # norms' weights and biases away from 1 and 0
        x = torch.randn(2, 9, 32)
        block = model.transformer.h[0]
        expected = reference_block(block, x, model.config)
        assert torch.allclose(block(x, model._rotation(torch.arange(9))), expected, atol=1e-5)


@pytest.mark.parametrize(
    "options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "gpt2"
)
def test_cached_forward_matches_full_forward_for_every_option(options):
    model = tiny(**options, tie_embeddings=False).eval()
    x = torch.randint(65, (2, 12))
    full, _ = model(x, x)
    logits, past = model.forward_cached(x[:, :5], torch.arange(5).expand(2, 5), model.empty_cache(2))
    for i in range(5, 12):
        logits, past = model.forward_cached(x[:, i : i + 1], torch.full((2, 1), i), past)
    assert torch.allclose(logits, full[:, -1, :65], atol=1e-5)


def test_untied_head_and_zero_init():
    model = tiny(tie_embeddings=False, zero_init=True)
    assert model.lm_head.weight is not model.transformer.wte.weight
    assert model.lm_head.weight.abs().sum() == 0
    assert all(
        b.attn.c_proj.weight.abs().sum() == 0 == b.mlp.c_proj.weight.abs().sum() for b in model.transformer.h
    )
    assert model.transformer.wte.weight.std() > 0.01
    assert "wpe" not in tiny(position="rope").transformer
