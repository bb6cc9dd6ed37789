"""Issue 29: the ONNX export of the shapes Llama, Qwen2 and Qwen3 weights bring (grouped-query
attention, a head size of its own, q/k/v biases, a rotary base and norm epsilon other than
GPT-2's) against PyTorch within 1e-4: at once, token by token through the KV cache, every
position's logits (all_positions), the cache's keys/values themselves, and model.json."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from make_reference import VOCAB, reference

from wordplay_trainer.export import onnx_model as ex
from wordplay_trainer.export.onnx_run import cached_steps
from wordplay_trainer.train.model import GPT, GPTConfig

CHAR = {"type": "char", "vocab": VOCAB}
TOL = 1e-4
LLAMA = {"position": "rope", "norm": "rmsnorm", "mlp": "swiglu"}
# n_embd 32 and 4 query heads throughout
SHAPES = {
    "gqa": {**LLAMA, "n_kv_head": 2},
    "mqa-learned": {"n_kv_head": 1},
    "head-dim": {**LLAMA, "head_dim": 16},
    "llama3": {**LLAMA, "n_kv_head": 2, "rope_base": 500000.0, "norm_eps": 1e-6, "mlp_hidden": 48},
    "qwen2": {
        **LLAMA,
        "n_kv_head": 2,
        "attn_bias": True,
        "rope_base": 1e6,
        "norm_eps": 1e-6,
        "tie_embeddings": False,
    },
    "qwen3": {**LLAMA, "qk_norm": True, "n_kv_head": 2, "head_dim": 16, "rope_base": 1e6, "norm_eps": 1e-6},
    "everything-layernorm": {
        "position": "rope",
        "n_kv_head": 2,
        "head_dim": 4,
        "attn_bias": True,
        "qk_norm": True,
    },
}


def shaped_model(seed: int = 0, **options) -> GPT:
    """A 2-layer GPT of 4 query heads, n_embd 32, weights jittered away from the init."""
    torch.manual_seed(seed)
    model = GPT(GPTConfig(len(VOCAB), 64, n_layer=2, n_head=4, n_embd=32, **options))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


def session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module", params=list(SHAPES.values()), ids=list(SHAPES))
def exported(request, tmp_path_factory):
    model = shaped_model(**request.param)
    out = tmp_path_factory.mktemp("export")
    path = ex.export_model(model, out, CHAR, {"iter": 1}, log=lambda _m: None)
    return model, session(path), json.loads((out / "model.json").read_text())


def test_prefill_and_steps_through_the_cache_match_pytorch(exported):
    model, sess, meta = exported
    g = torch.Generator().manual_seed(1)
    prompt = torch.randint(0, len(VOCAB), (9,), generator=g).tolist()
    steps = torch.randint(0, len(VOCAB), (30,), generator=g).tolist()
    expected = reference(model, prompt, steps)
    got = list(cached_steps(sess, meta, np.array([prompt]), np.array([steps])))
    worst = max(
        float(np.abs(a[0] - np.array(e, np.float32)).max()) for a, e in zip(got, expected, strict=True)
    )
    assert worst <= TOL, f"max abs difference {worst}"
    # and the whole sequence at once, as training computes it
    ids = torch.tensor([prompt + steps])
    with torch.no_grad():
        whole = model(ids, ids)[0][0, len(prompt) - 1 :, : len(VOCAB)].numpy()
    assert max(float(np.abs(a[0] - whole[i]).max()) for i, a in enumerate(got)) <= TOL


def test_cache_holds_the_key_value_heads_only(exported):
    """A batch of 2 after a past: logits, and every present/new key and value equal PyTorch's
    (batch, n_kv_head, seq, head_dim) transposed to (batch, seq, n_kv_head * head_dim)."""
    model, sess, meta = exported
    c = model.config
    width = c.n_kv_head * c.head_dim
    assert meta["kv_cache"]["width"] == width
    g = torch.Generator().manual_seed(2)
    ids, chunk = (
        torch.randint(0, len(VOCAB), (2, 10), generator=g),
        torch.randint(0, len(VOCAB), (2, 4), generator=g),
    )
    with torch.no_grad():
        _, past = model.forward_cached(ids, torch.arange(10).expand(2, 10), model.empty_cache(2))
        logits, torch_presents = model.forward_cached(chunk, torch.arange(10, 14).expand(2, 4), past)
    n = 2 * c.n_layer
    empty = {name: np.zeros((2, 0, width), np.float32) for name in meta["inputs"][2:]}
    flag = {"all_positions": np.array(False)}
    out = sess.run(
        None, {"input_ids": ids.numpy(), "position_ids": np.tile(np.arange(10), (2, 1)), **empty, **flag}
    )
    feeds = {"input_ids": chunk.numpy(), "position_ids": np.tile(np.arange(10, 14), (2, 1)), **flag}
    out = sess.run(None, {**feeds, **dict(zip(meta["inputs"][2:], out[1 : 1 + n], strict=True))})
    assert np.abs(out[0] - logits.numpy()).max() <= TOL
    flat = [t.transpose(1, 2).reshape(2, 14, width).numpy() for kv in torch_presents for t in kv]
    present, new = out[1 : 1 + n], out[1 + n : 1 + 2 * n]
    assert all(p.shape == (2, 14, width) for p in present) and all(x.shape == (2, 4, width) for x in new)
    assert max(float(np.abs(p - t).max()) for p, t in zip(present, flat, strict=True)) <= TOL
    assert all(np.array_equal(x, p[:, -4:]) for x, p in zip(new, present, strict=True))


def test_every_position_logits_match_pytorch(exported):
    """all_logits (Model Surprise) after a prefill and after a past."""
    model, sess, meta = exported
    ids = torch.randint(0, len(VOCAB), (1, 24), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = model(ids, ids)[0][..., : len(VOCAB)].numpy()
    width = meta["kv_cache"]["width"]
    empty = {name: np.zeros((1, 0, width), np.float32) for name in meta["inputs"][2:]}
    every = {"all_positions": np.array(True)}
    head = sess.run(
        None, {"input_ids": ids[:, :16].numpy(), "position_ids": np.arange(16)[None], **empty, **every}
    )
    assert np.abs(head[-1] - expected[:, :16]).max() <= TOL
    past = dict(zip(meta["inputs"][2:], head[1 : 1 + 2 * model.config.n_layer], strict=True))
    (tail,) = sess.run(
        ["all_logits"],
        {"input_ids": ids[:, 16:].numpy(), "position_ids": np.arange(16, 24)[None], **past, **every},
    )
    assert np.abs(tail - expected[:, 16:]).max() <= TOL


def test_model_json_describes_the_shape(exported):
    model, sess, meta = exported
    c, a, kv = model.config, meta["architecture"], meta["kv_cache"]
    assert (a["n_head"], a["n_kv_head"], a["head_dim"], a["mlp_hidden"]) == (
        4,
        c.n_kv_head,
        c.head_dim,
        c.mlp_hidden,
    )
    assert (a["rope_base"], a["norm_eps"], a["attn_bias"]) == (c.rope_base, c.norm_eps, c.attn_bias)
    assert (kv["n_head"], kv["n_kv_head"], kv["head_dim"]) == (4, c.n_kv_head, c.head_dim)
    past = {i.name: i.shape for i in sess.get_inputs()}
    assert past["past_value_1"] == ["batch", "past", c.n_kv_head * c.head_dim]


def test_gpt2_shapes_keep_their_graph_and_description(tmp_path):
    """Without the new options the cache is n_embd wide and the graph widens nothing."""
    path = ex.export_model(shaped_model(), tmp_path, CHAR, log=lambda _m: None)
    meta = json.loads((tmp_path / "model.json").read_text())
    kv = meta["kv_cache"]
    assert (kv["n_head"], kv["n_kv_head"], kv["head_dim"], kv["width"]) == (4, 4, 8, 32)
    import onnx

    assert not any(n.op_type == "Expand" for n in onnx.load(str(path)).graph.node)
