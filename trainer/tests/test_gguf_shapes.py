"""Issue 29: `export --format gguf` of the shapes Llama, Qwen2 and Qwen3 weights bring: grouped-query
attention (head_count_kv), a head size of its own (key_length / value_length), the MLP width, the
rotary base and the RMSNorm epsilon, and q/k/v biases as llama.cpp's qwen2. Each file is read back
with gguf's reader and its logits recomputed in numpy from the file alone (test_gguf_export.py's
gguf_logits, llama.cpp's graph) must equal our model's; shapes llama.cpp lacks are refused."""

from __future__ import annotations

import gguf
import numpy as np
import pytest
import torch
from make_reference import VOCAB
from test_gguf_export import CHAR, field, gguf_logits, name, write_run

from wordplay_trainer.common.errors import TrainerError
from wordplay_trainer.export.gguf_file import export_gguf
from wordplay_trainer.train.model import GPT, GPTConfig

T = gguf.MODEL_TENSOR
LLAMA = {"position": "rope", "norm": "rmsnorm", "mlp": "swiglu"}
# (options, llama.cpp architecture); n_embd 32 and 4 query heads throughout
SHAPES = {
    "llama-gqa": (
        {**LLAMA, "n_kv_head": 2, "rope_base": 500000.0, "norm_eps": 1e-6, "mlp_hidden": 48},
        "llama",
    ),
    "llama-head-dim": ({**LLAMA, "n_kv_head": 1, "head_dim": 16, "tie_embeddings": False}, "llama"),
    "qwen2": ({**LLAMA, "n_kv_head": 2, "attn_bias": True, "rope_base": 1e6, "norm_eps": 1e-6}, "qwen2"),
    "qwen3": ({**LLAMA, "qk_norm": True, "n_kv_head": 2, "head_dim": 16, "rope_base": 1e6}, "qwen3"),
    "arcee-gqa": (
        {"position": "rope", "norm": "rmsnorm", "mlp": "relu2", "n_kv_head": 2, "head_dim": 4},
        "arcee",
    ),
    "gpt2-attn-bias": ({"attn_bias": True}, "gpt2"),
}


def shaped_model(**options) -> GPT:
    torch.manual_seed(0)
    model = GPT(GPTConfig(len(VOCAB), 32, n_layer=2, n_head=4, n_embd=32, **options))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


@pytest.fixture(scope="module", params=list(SHAPES), ids=list(SHAPES))
def exported(request, tmp_path_factory):
    options, arch = SHAPES[request.param]
    folder = tmp_path_factory.mktemp(f"gguf-{request.param}")
    model = shaped_model(**options)
    return arch, model, export_gguf(write_run(folder / "run", model, CHAR), folder / "model.gguf", None)


def test_gguf_logits_equal_the_models(exported):
    arch, model, path = exported
    ids = [VOCAB.index(ch) for ch in "First Citizen:\nBefore we"]
    with torch.no_grad():
        expected = model(torch.tensor([ids]), torch.tensor([ids]))[0][0, :, : len(VOCAB)].numpy()
    got = gguf_logits(path, ids)[:, : len(VOCAB)]
    worst = float(np.abs(got - expected).max())
    assert worst <= 1e-4, f"{arch}: max abs difference {worst}"


def test_hyperparameters_name_the_shape(exported):
    arch, model, path = exported
    c = model.config
    r = gguf.GGUFReader(path)
    assert field(r, gguf.Keys.General.ARCHITECTURE) == arch
    key = lambda k: field(r, k.format(arch=arch))  # noqa: E731
    assert (key(gguf.Keys.Attention.HEAD_COUNT), key(gguf.Keys.Attention.HEAD_COUNT_KV)) == (4, c.n_kv_head)
    assert key(gguf.Keys.LLM.FEED_FORWARD_LENGTH) == c.mlp_hidden
    decoupled = c.head_dim != c.n_embd // c.n_head
    assert (gguf.Keys.Attention.KEY_LENGTH.format(arch=arch) in r.fields) == decoupled
    if decoupled:
        assert key(gguf.Keys.Attention.KEY_LENGTH) == key(gguf.Keys.Attention.VALUE_LENGTH) == c.head_dim
    tensors = {t.name: t.data for t in r.tensors}
    if arch != "gpt2":
        assert key(gguf.Keys.Rope.FREQ_BASE) == c.rope_base
        assert key(gguf.Keys.Rope.DIMENSION_COUNT) == c.head_dim
        assert key(gguf.Keys.Attention.LAYERNORM_RMS_EPS) == pytest.approx(c.norm_eps)
        assert tensors[name(T.ATTN_Q, 0)].shape == (4 * c.head_dim, 32)
        assert (
            tensors[name(T.ATTN_K, 0)].shape
            == tensors[name(T.ATTN_V, 1)].shape
            == (c.n_kv_head * c.head_dim, 32)
        )
    # q, k and v biases in qwen2 alone among the llama family, as llama.cpp loads them
    assert (name(T.ATTN_Q, 0, "bias") in tensors) == (arch == "qwen2")
    assert name(T.ATTN_OUT, 0, "bias") not in tensors or arch == "gpt2"


@pytest.mark.parametrize(
    "options, named",
    [
        ({"n_kv_head": 2}, "model.n_kv_head"),
        ({"head_dim": 16}, "model.head_dim"),
        ({**LLAMA, "qk_norm": True, "attn_bias": True}, "model.attn_bias=true"),
        ({"position": "rope", "norm": "rmsnorm", "mlp": "relu2", "attn_bias": True}, "model.attn_bias=true"),
    ],
    ids=["gpt2-gqa", "gpt2-head-dim", "qwen3-attn-bias", "arcee-attn-bias"],
)
def test_shapes_llama_cpp_lacks_are_refused(tmp_path, options, named):
    run_dir = write_run(tmp_path / "run", shaped_model(**options), CHAR)
    with pytest.raises(TrainerError, match="Export it as ONNX") as err:
        export_gguf(run_dir, tmp_path / "m.gguf", None)
    assert named in err.value.message and err.value.key.startswith("model")
    assert list(tmp_path.iterdir()) == [run_dir]
