"""`export --format gguf`: the file llama.cpp loads, read back with gguf's own reader. Each supported
architecture's logits are recomputed from the GGUF tensors alone, in numpy, the way llama.cpp's
graph for that architecture computes them (its rotary pairing included), and must equal our
model's; the hyperparameters, the three tokenizer kinds' metadata, and the refusals."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import gguf
import numpy as np
import pytest
import torch
from conftest import MUON_RECIPE, TEXT
from make_reference import VOCAB, tiny_model

from wordplay_trainer.commands import export as export_command
from wordplay_trainer.common.errors import TrainerError
from wordplay_trainer.export.gguf_file import export_gguf
from wordplay_trainer.prepare import bpe
from wordplay_trainer.prepare.bpe import bytes_to_unicode
from wordplay_trainer.run.rundir import RunDir
from wordplay_trainer.train.checkpoint import save_checkpoint

CHAR = {"type": "char", "vocab": VOCAB}
T = gguf.MODEL_TENSOR
ARCH = {
    "gpt2": {},
    "gpt2-bias-untied": {"bias": True, "tie_embeddings": False},
    "llama": {"position": "rope", "norm": "rmsnorm", "mlp": "swiglu"},
    "qwen3": MUON_RECIPE["model"],
    "qwen3-untied": {**MUON_RECIPE["model"], "tie_embeddings": False},
    "arcee": {"position": "rope", "norm": "rmsnorm", "mlp": "relu2"},
}
# llama.cpp's rotary pairing (llama_model_rope_type): adjacent pairs for llama and arcee, pairs
# half a head apart (NEOX) for qwen3
ADJACENT_PAIRS = ("llama", "arcee")


def write_run(run_dir: Path, model, tokenizer: dict) -> Path:
    save_checkpoint(RunDir(run_dir), model, None, {"iteration": 3, "tokenizer": tokenizer})
    return run_dir


def model_for(variant: str, vocab_size: int = len(VOCAB)):
    options = {k: v for k, v in ARCH[variant].items() if k not in ("zero_init", "dropout")}
    return tiny_model(vocab_size=vocab_size, block_size=32, **options)


def field(reader: gguf.GGUFReader, key: str):
    return reader.fields[key].contents()


def name(tensor: gguf.MODEL_TENSOR, layer: int | None = None, suffix: str = "weight") -> str:
    return f"{gguf.TENSOR_NAMES[tensor].format(bid=layer)}.{suffix}"


def gguf_logits(path: Path, ids: list[int]) -> np.ndarray:
    """Every position's logits (T, n_vocab) from the GGUF file's tensors and hyperparameters
    alone, as llama.cpp's graph of its architecture computes them."""
    r = gguf.GGUFReader(path)
    arch = field(r, gguf.Keys.General.ARCHITECTURE)
    t = {x.name: np.array(x.data, np.float64) for x in r.tensors}
    key = lambda k: field(r, k.format(arch=arch))  # noqa: E731
    n_head, n_kv_head = key(gguf.Keys.Attention.HEAD_COUNT), key(gguf.Keys.Attention.HEAD_COUNT_KV)
    n = len(ids)

    def norm(x, w, b=None):
        if arch == "gpt2":
            x = x - x.mean(-1, keepdims=True)
            return x / np.sqrt(x.var(-1, keepdims=True) + key(gguf.Keys.Attention.LAYERNORM_EPS)) * w + b
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + key(gguf.Keys.Attention.LAYERNORM_RMS_EPS)) * w

    def rope(x):  # (n, heads, d)
        d = x.shape[-1]
        angle = np.arange(n)[:, None] * key(gguf.Keys.Rope.FREQ_BASE) ** (-np.arange(0, d, 2) / d)
        cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
        a, b = (x[..., 0::2], x[..., 1::2]) if arch in ADJACENT_PAIRS else np.split(x, 2, axis=-1)
        ra, rb = a * cos - b * sin, b * cos + a * sin
        if arch in ADJACENT_PAIRS:
            return np.stack([ra, rb], axis=-1).reshape(x.shape)
        return np.concatenate([ra, rb], axis=-1)

    x = t[name(T.TOKEN_EMBD)][ids]
    if arch == "gpt2":
        x = x + t[name(T.POS_EMBD)][:n]
    for i in range(key(gguf.Keys.LLM.BLOCK_COUNT)):

        def w(tensor: gguf.MODEL_TENSOR, suffix: str = "weight", layer: int = i) -> np.ndarray | None:
            return t.get(name(tensor, layer, suffix))

        h = norm(x, w(T.ATTN_NORM), w(T.ATTN_NORM, "bias"))
        if arch == "gpt2":
            q, k, v = np.split(h @ w(T.ATTN_QKV).T + w(T.ATTN_QKV, "bias"), 3, axis=-1)
        else:
            q, k, v = h @ w(T.ATTN_Q).T, h @ w(T.ATTN_K).T, h @ w(T.ATTN_V).T
            if arch == "qwen2":
                q, k, v = q + w(T.ATTN_Q, "bias"), k + w(T.ATTN_K, "bias"), v + w(T.ATTN_V, "bias")
        # head_count_kv key/value heads, query head j reading key/value head j // group (ggml's
        # broadcast); the head size is key_length where the file gives one
        q, k, v = q.reshape(n, n_head, -1), k.reshape(n, n_kv_head, -1), v.reshape(n, n_kv_head, -1)
        if arch == "qwen3":
            q, k = norm(q, w(T.ATTN_Q_NORM)), norm(k, w(T.ATTN_K_NORM))
        if arch != "gpt2":
            q, k = rope(q), rope(k)
        k, v = np.repeat(k, n_head // n_kv_head, axis=1), np.repeat(v, n_head // n_kv_head, axis=1)
        scores = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(q.shape[-1])
        scores = np.where(np.tri(n, dtype=bool), scores, -np.inf)
        p = np.exp(scores - scores.max(-1, keepdims=True))
        att = np.einsum("hqk,khd->qhd", p / p.sum(-1, keepdims=True), v).reshape(n, -1)
        x = x + att @ w(T.ATTN_OUT).T + (w(T.ATTN_OUT, "bias") if arch == "gpt2" else 0)
        h = norm(x, w(T.FFN_NORM), w(T.FFN_NORM, "bias"))
        up = h @ w(T.FFN_UP).T
        if arch == "gpt2":
            up = up + w(T.FFN_UP, "bias")
            act = 0.5 * up * (1 + np.tanh(np.sqrt(2 / np.pi) * (up + 0.044715 * up**3)))
        elif arch == "arcee":
            act = np.maximum(up, 0) ** 2
        else:
            gate = h @ w(T.FFN_GATE).T
            act = gate / (1 + np.exp(-gate)) * up
        x = x + act @ w(T.FFN_DOWN).T + (w(T.FFN_DOWN, "bias") if arch == "gpt2" else 0)
    x = norm(x, t[name(T.OUTPUT_NORM)], t.get(name(T.OUTPUT_NORM, suffix="bias")))
    return x @ t.get(name(T.OUTPUT), t[name(T.TOKEN_EMBD)]).T


@pytest.fixture(scope="module", params=list(ARCH))
def exported(request, tmp_path_factory):
    """Each architecture's model, exported once for the tests that read its file."""
    folder = tmp_path_factory.mktemp(f"gguf-{request.param}")
    model = model_for(request.param)
    run_dir = write_run(folder / "run", model, CHAR)
    return request.param, model, export_gguf(run_dir, folder / "model.gguf", None)


def test_gguf_logits_equal_the_models(exported):
    variant, model, path = exported
    ids = [VOCAB.index(ch) for ch in "First Citizen:\nBefore we"]
    with torch.no_grad():
        expected = model(torch.tensor([ids]), torch.tensor([ids]))[0][0, :, : len(VOCAB)].numpy()
    got = gguf_logits(path, ids)
    # the char vocabulary's end-of-text row comes after the real ones
    assert got.shape == (len(ids), len(VOCAB) + 1)
    worst = float(np.abs(got[:, : len(VOCAB)] - expected).max())
    assert worst <= 1e-4, f"{variant}: max abs difference {worst}"


def test_architecture_tensors_and_hyperparameters(exported):
    variant, model, path = exported
    c = model.config
    r = gguf.GGUFReader(path)
    arch = variant.split("-")[0]
    assert field(r, gguf.Keys.General.ARCHITECTURE) == arch
    key = lambda k: field(r, k.format(arch=arch))  # noqa: E731
    assert key(gguf.Keys.LLM.CONTEXT_LENGTH) == c.block_size
    assert key(gguf.Keys.LLM.EMBEDDING_LENGTH) == c.n_embd
    assert key(gguf.Keys.LLM.FEED_FORWARD_LENGTH) == c.mlp_hidden
    assert key(gguf.Keys.LLM.BLOCK_COUNT) == c.n_layer
    assert key(gguf.Keys.Attention.HEAD_COUNT) == key(gguf.Keys.Attention.HEAD_COUNT_KV) == c.n_head
    assert field(r, gguf.Keys.General.FILE_TYPE) == gguf.LlamaFileType.ALL_F32
    tensors = {t.name: t for t in r.tensors}
    assert all(t.tensor_type == gguf.GGMLQuantizationType.F32 for t in tensors.values())
    # every name is one llama.cpp knows for the architecture
    model_arch = next(a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == arch)
    known = {gguf.TENSOR_NAMES[t] for t in gguf.MODEL_TENSORS[model_arch]}
    assert {re.sub(r"\.\d+\.", ".{bid}.", n.rsplit(".", 1)[0]) for n in tensors} <= known
    assert (name(T.OUTPUT) in tensors) == (not c.tie_embeddings)
    # the real vocabulary and one end-of-text row; the padding rows stay behind
    assert tensors[name(T.TOKEN_EMBD)].data.shape == (len(VOCAB) + 1, c.n_embd)
    sd = model.state_dict()
    np.testing.assert_array_equal(tensors[name(T.ATTN_OUT, 1)].data, sd["transformer.h.1.attn.c_proj.weight"])
    np.testing.assert_array_equal(tensors[name(T.FFN_DOWN, 0)].data, sd["transformer.h.0.mlp.c_proj.weight"])
    np.testing.assert_array_equal(
        tensors[name(T.TOKEN_EMBD)].data[: len(VOCAB)], sd["transformer.wte.weight"][: len(VOCAB)]
    )
    if arch == "gpt2":
        qkv = sd["transformer.h.0.attn.c_attn.weight"]
        np.testing.assert_array_equal(tensors[name(T.ATTN_QKV, 0)].data, qkv)
        zero_or_ours = sd.get("transformer.h.0.attn.c_attn.bias", torch.zeros(3 * c.n_embd))
        np.testing.assert_array_equal(tensors[name(T.ATTN_QKV, 0, "bias")].data, zero_or_ours)
        assert key(gguf.Keys.Attention.LAYERNORM_EPS) == pytest.approx(1e-5)
    else:
        v = sd["transformer.h.0.attn.c_attn.weight"][2 * c.n_embd :]
        np.testing.assert_array_equal(tensors[name(T.ATTN_V, 0)].data, v)
        assert key(gguf.Keys.Rope.FREQ_BASE) == 10000.0
        assert key(gguf.Keys.Attention.LAYERNORM_RMS_EPS) == pytest.approx(1e-5)


def test_char_tokenizer_metadata(tmp_path):
    path = export_gguf(write_run(tmp_path / "run", model_for("qwen3"), CHAR), tmp_path / "m.gguf", None)
    r = gguf.GGUFReader(path)
    tokens = field(r, gguf.Keys.Tokenizer.LIST)
    alphabet = bytes_to_unicode()
    assert tokens == [alphabet[ord(ch)] for ch in VOCAB] + ["<|endoftext|>"]
    assert field(r, gguf.Keys.Tokenizer.MODEL) == "gpt2" and field(r, gguf.Keys.Tokenizer.PRE) == "gpt-2"
    assert field(r, gguf.Keys.Tokenizer.EOS_ID) == len(VOCAB)
    assert field(r, gguf.Keys.Tokenizer.ADD_BOS) is False
    types = field(r, gguf.Keys.Tokenizer.TOKEN_TYPE)
    assert types == [gguf.TokenType.NORMAL] * len(VOCAB) + [gguf.TokenType.CONTROL]
    # one merge, of a two-character symbol no single byte ever is
    (merge,) = field(r, gguf.Keys.Tokenizer.MERGES)
    assert len(merge.split(" ")[0]) == 2


def test_bpe_tokenizer_metadata(tmp_path):
    tokenizer = json.loads(bpe.train(iter([TEXT]), 300).to_str())
    vocab_size = max(t["id"] for t in tokenizer["added_tokens"]) + 1
    run_dir = write_run(tmp_path / "run", model_for("llama", vocab_size), tokenizer)
    r = gguf.GGUFReader(export_gguf(run_dir, tmp_path / "m.gguf", None))
    tokens = field(r, gguf.Keys.Tokenizer.LIST)
    assert len(tokens) == vocab_size and tokens[-1] == "<|endoftext|>"
    vocab = tokenizer["model"]["vocab"]
    assert tokens == sorted(vocab, key=vocab.get) + ["<|endoftext|>"]
    assert field(r, gguf.Keys.Tokenizer.MERGES) == [" ".join(m) for m in tokenizer["model"]["merges"]]
    assert field(r, gguf.Keys.Tokenizer.PRE) == "llama-bpe"
    assert field(r, gguf.Keys.Tokenizer.EOS_ID) == vocab_size - 1
    assert field(r, gguf.Keys.Tokenizer.TOKEN_TYPE)[-1] == gguf.TokenType.CONTROL


def gpt2_folder(folder: Path) -> tuple[list[str], list[str]]:
    """A GPT-2-shaped vocab.json + merges.txt: the 256 bytes, 50,000 two-byte merges, <|endoftext|>."""
    alphabet = list(bytes_to_unicode().values())
    pairs = [(a, b) for a in alphabet for b in alphabet][:50000]
    tokens = alphabet + [a + b for a, b in pairs] + ["<|endoftext|>"]
    folder.mkdir()
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}), encoding="utf-8")
    merges = [f"{a} {b}" for a, b in pairs]
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return tokens, merges


def test_gpt2_tokenizer_metadata(tmp_path):
    tokens, merges = gpt2_folder(tmp_path / "gpt2")
    run_dir = write_run(tmp_path / "run", tiny_model(vocab_size=50257, block_size=32), {"type": "gpt2"})
    r = gguf.GGUFReader(export_gguf(run_dir, tmp_path / "m.gguf", tmp_path / "gpt2"))
    assert field(r, gguf.Keys.Tokenizer.LIST) == tokens
    assert field(r, gguf.Keys.Tokenizer.MERGES) == merges
    assert field(r, gguf.Keys.Tokenizer.PRE) == "gpt-2"
    assert field(r, gguf.Keys.Tokenizer.EOS_ID) == 50256
    assert {t.name: t for t in r.tensors}[name(T.TOKEN_EMBD)].data.shape == (50257, 32)


@pytest.mark.parametrize(
    "options, named",
    [
        ({"position": "rope"}, "model.position=rope, model.norm=layernorm"),
        ({"mlp": "swiglu"}, "model.mlp=swiglu"),
        ({"qk_norm": True}, "model.qk_norm=true"),
        ({"position": "rope", "norm": "rmsnorm", "mlp": "gelu"}, "model.mlp=gelu"),
        ({"position": "rope", "norm": "rmsnorm", "mlp": "swiglu", "bias": True}, "model.bias=true"),
    ],
)
def test_architectures_llama_cpp_lacks_are_refused(tmp_path, options, named):
    run_dir = write_run(tmp_path / "run", tiny_model(block_size=32, **options), CHAR)
    with pytest.raises(TrainerError, match="GGUF exports: learned \\+ layernorm \\+ gelu \\(gpt2\\)") as err:
        export_gguf(run_dir, tmp_path / "m.gguf", None)
    assert named in err.value.message
    assert list(tmp_path.iterdir()) == [run_dir]


def test_skip_connections_are_refused_naming_the_key(tmp_path):
    run_dir = write_run(tmp_path / "run", tiny_model(**MUON_RECIPE["model"], skip_connections=True), CHAR)
    with pytest.raises(TrainerError, match="model.skip_connections true has no GGUF export") as err:
        export_gguf(run_dir, tmp_path / "m.gguf", None)
    assert err.value.key == "model.skip_connections"
    assert list(tmp_path.iterdir()) == [run_dir]


def test_bad_out_and_tokenizers_are_refused(tmp_path):
    run_dir = write_run(tmp_path / "run", model_for("gpt2"), CHAR)
    with pytest.raises(TrainerError, match="--out .* is a folder"):
        export_gguf(run_dir, tmp_path, None)
    with pytest.raises(TrainerError, match="--out .* does not end in .gguf"):
        export_gguf(run_dir, tmp_path / "model.bin", None)
    wide_vocab = {"type": "char", "vocab": ["a", "é", "\n"]}
    wide = write_run(tmp_path / "wide", tiny_model(vocab_size=3, block_size=32), wide_vocab)
    with pytest.raises(TrainerError, match="'é'.*one byte") as err:
        export_gguf(wide, tmp_path / "m.gguf", None)
    assert err.value.key == "data.dataset"
    gpt2_run = write_run(tmp_path / "gpt2", tiny_model(vocab_size=50257, block_size=32), {"type": "gpt2"})
    with pytest.raises(TrainerError, match="wordplay export") as err:
        export_gguf(gpt2_run, tmp_path / "m.gguf", None)
    assert err.value.key == "--gpt2-tokenizer"
    with pytest.raises(TrainerError, match="vocab.json"):
        export_gguf(gpt2_run, tmp_path / "m.gguf", tmp_path / "nowhere")
    assert not list(tmp_path.glob("*.gguf*"))


def test_cli_writes_the_file_and_names_the_problem(tmp_path, capsys):
    run_dir = write_run(tmp_path / "run", model_for("qwen3"), CHAR)
    out = tmp_path / "out.gguf"
    # as its own process, as the extension runs it
    trainer = str(Path(__file__).resolve().parents[1])
    env = {"PYTHONPATH": trainer, "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "wordplay_trainer", "export", "--run", str(run_dir), "--format", "gguf"]
    result = subprocess.run([*cmd, "--out", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert gguf.GGUFReader(out).fields[gguf.Keys.General.ARCHITECTURE].contents() == "qwen3"
    # a refusal, in this process: the exit code and the message naming the option
    args = ["--run", str(run_dir), "--format", "gguf", "--out", str(tmp_path / "out.txt")]
    assert export_command.main(args) == 1
    assert "--out" in capsys.readouterr().err
