"""Issue 3 point 1: the GPT-2 architecture."""

import math

import torch
import torch.nn.functional as F

from wordplay_trainer.model import GPT, GPTConfig


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
