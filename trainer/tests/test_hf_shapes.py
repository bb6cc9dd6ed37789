"""Issue 29: `export --format hf` of the shapes Llama, Qwen2 and Qwen3 weights bring: grouped-query
attention (num_key_value_heads), a head size of its own (head_dim), the MLP width
(intermediate_size), the rotary base (rope_theta), the norm epsilon (rms_norm_eps), and q/k/v
biases (Qwen2ForCausalLM). transformers reloads each folder with its own class and gives our
logits within 1e-4; the shapes GPT-2's class lacks are refused."""

from __future__ import annotations

import json

import pytest
import torch
from make_reference import VOCAB
from safetensors.torch import load_file
from test_hf_export import CHAR, TOL, max_logits_difference, write_run
from transformers import AutoConfig

from wordplay_trainer.common.errors import TrainerError
from wordplay_trainer.export.hf_folder import export_hf
from wordplay_trainer.train.model import GPT, GPTConfig

LLAMA = {"position": "rope", "norm": "rmsnorm", "mlp": "swiglu"}
# (options, the transformers class); n_embd 32 and 4 query heads throughout
SHAPES = {
    "llama-gqa": (
        {**LLAMA, "n_kv_head": 2, "rope_base": 500000.0, "norm_eps": 1e-6, "mlp_hidden": 48},
        "LlamaForCausalLM",
    ),
    "llama-bias-head-dim": ({**LLAMA, "bias": True, "n_kv_head": 1, "head_dim": 16}, "LlamaForCausalLM"),
    "qwen2": (
        {**LLAMA, "attn_bias": True, "n_kv_head": 2, "rope_base": 1e6, "tie_embeddings": False},
        "Qwen2ForCausalLM",
    ),
    "qwen2-head-dim": ({**LLAMA, "attn_bias": True, "n_kv_head": 2, "head_dim": 12}, "Qwen2ForCausalLM"),
    "qwen3": (
        {**LLAMA, "qk_norm": True, "n_kv_head": 2, "head_dim": 16, "rope_base": 1e6, "norm_eps": 1e-6},
        "Qwen3ForCausalLM",
    ),
    # q/k/v biases in classes whose attention_bias also biases o_proj: a zero one
    "qwen3-attn-bias": ({**LLAMA, "qk_norm": True, "attn_bias": True, "n_kv_head": 1}, "Qwen3ForCausalLM"),
    "arcee-gqa-attn-bias": ({**LLAMA, "mlp": "relu2", "attn_bias": True, "n_kv_head": 2}, "ArceeForCausalLM"),
    "gpt2-attn-bias": ({"attn_bias": True}, "GPT2LMHeadModel"),
}


def shaped_model(**options) -> GPT:
    torch.manual_seed(0)
    model = GPT(GPTConfig(len(VOCAB), 64, n_layer=2, n_head=4, n_embd=32, **options))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


@pytest.fixture(scope="module", params=list(SHAPES), ids=list(SHAPES))
def exported(request, tmp_path_factory):
    options, cls = SHAPES[request.param]
    model = shaped_model(**options)
    base = tmp_path_factory.mktemp("hf")
    return model, export_hf(write_run(base / "run", model, CHAR), base / "out", None), cls


def test_transformers_reloads_our_logits(exported):
    model, out, cls = exported
    assert json.loads((out / "config.json").read_text())["architectures"] == [cls]
    ids = torch.randint(len(VOCAB), (2, 64), generator=torch.Generator().manual_seed(1))
    worst = max_logits_difference(model, out, ids)
    assert worst <= TOL, f"{cls}: max abs difference {worst}"


def test_config_names_the_shape(exported):
    model, out, cls = exported
    c, config = model.config, AutoConfig.from_pretrained(out)
    if cls == "GPT2LMHeadModel":
        assert (config.n_head, config.n_inner) == (4, c.mlp_hidden)
        return
    assert (config.num_attention_heads, config.num_key_value_heads, config.head_dim) == (
        4,
        c.n_kv_head,
        c.head_dim,
    )
    assert (config.intermediate_size, config.rope_theta) == (c.mlp_hidden, c.rope_base)
    assert config.rms_norm_eps == pytest.approx(c.norm_eps)


def test_qwen2_holds_the_q_k_v_biases_and_no_other(tmp_path):
    model = shaped_model(**SHAPES["qwen2-head-dim"][0])
    c = model.config
    out = export_hf(write_run(tmp_path / "run", model, CHAR), tmp_path / "out", None)
    weights = load_file(out / "model.safetensors")
    assert not [
        k
        for k in weights
        if k.endswith(".bias") and "q_proj" not in k and "k_proj" not in k and "v_proj" not in k
    ]
    ours = model.state_dict()["transformer.h.1.attn.c_attn.bias"]
    q, k, v = ours.split([4 * c.head_dim, 2 * c.head_dim, 2 * c.head_dim])
    assert len(q) == 48 != c.n_embd
    for proj, want in (("q_proj", q), ("k_proj", k), ("v_proj", v)):
        assert torch.equal(weights[f"model.layers.1.self_attn.{proj}.bias"], want)


@pytest.mark.parametrize(
    "options, key", [({"n_kv_head": 2}, "model.n_kv_head"), ({"head_dim": 16}, "model.head_dim")]
)
def test_shapes_gpt2_lacks_are_refused(tmp_path, options, key):
    run = write_run(tmp_path / "run", shaped_model(**options), CHAR)
    with pytest.raises(TrainerError, match="GPT2LMHeadModel") as info:
        export_hf(run, tmp_path / "out", None)
    assert info.value.key == key and key in info.value.message
    assert not (tmp_path / "out").exists()
