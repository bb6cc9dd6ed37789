"""Issue 29 end to end: a tiny random Llama (grouped-query attention, rope_theta 500000), Qwen2
(q/k/v biases) and Qwen3 (qk-norm, head_dim 24 of hidden 64 / 4 heads) folder written by
transformers (hf_models.py) -> our GPT (train/hf_weights.py) -> model.onnx, at once and token by
token through the KV cache, and the `--format hf` export reloaded: every one gives transformers'
logits within 1e-4."""

from __future__ import annotations

import json

import gguf
import numpy as np
import pytest
import torch
from hf_models import END_OF_TEXT, write_model
from test_gguf_export import field, gguf_logits
from tokenizers import Tokenizer
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from wordplay_trainer.common.errors import TrainerError
from wordplay_trainer.export import onnx_model as ex
from wordplay_trainer.export.gguf_file import LLAMA3_SPLIT, _pre_tokenizer, export_gguf
from wordplay_trainer.export.hf_folder import export_hf
from wordplay_trainer.export.onnx_run import cached_steps, open_session
from wordplay_trainer.run.rundir import RunDir
from wordplay_trainer.train.checkpoint import save_checkpoint
from wordplay_trainer.train.hf_weights import load_pretrained

TOL = 1e-4
CLASSES = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM"}


@pytest.fixture(scope="module", params=list(CLASSES))
def pretrained(request, tmp_path_factory):
    """(family, transformers' model, ours from its folder, the folder's tokenizer as model.json
    carries it, a fixed random text of ids)."""
    folder, hf = write_model(request.param, tmp_path_factory.mktemp(request.param) / "hf")
    ours = load_pretrained(str(folder))
    tokenizer_json = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    eot = Tokenizer.from_file(str(folder / "tokenizer.json")).token_to_id(END_OF_TEXT)
    spec = {"type": "hf", "source": str(folder), "end_of_text": eot, "json": tokenizer_json}
    tokens = Tokenizer.from_file(str(folder / "tokenizer.json")).get_vocab_size()
    ids = torch.randint(tokens, (1, 40), generator=torch.Generator().manual_seed(1))
    return request.param, hf, ours, spec, ids


def transformers_logits(hf, ids: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return hf(ids).logits[0].numpy()


def test_our_model_and_its_onnx_give_transformers_logits(pretrained, tmp_path):
    family, hf, ours, spec, ids = pretrained
    expected = transformers_logits(hf, ids)
    assert ours.config.vocab_size == expected.shape[-1]
    with torch.no_grad():
        torch_worst = float(
            np.abs(ours(ids, ids)[0][0, :, : ours.config.vocab_size].numpy() - expected).max()
        )
    assert torch_worst <= TOL, f"{family}: PyTorch {torch_worst}"
    path = ex.export_model(ours, tmp_path, spec, {"pretrained": spec["source"]}, log=lambda _m: None)
    meta = json.loads((tmp_path / "model.json").read_text())
    c = ours.config
    assert meta["kv_cache"]["width"] == c.n_kv_head * c.head_dim < c.n_head * c.head_dim
    session = open_session(path)
    # at once: every position's logits
    empty = {n: np.zeros((1, 0, meta["kv_cache"]["width"]), np.float32) for n in meta["inputs"][2:]}
    feeds = {"input_ids": ids.numpy(), "position_ids": np.arange(ids.shape[1])[None], **empty}
    (every,) = session.run(["all_logits"], {**feeds, "all_positions": np.array(True)})
    at_once = float(np.abs(every[0] - expected).max())
    # token by token: an 8-token prefill, then one position at a time through the cache
    steps = list(cached_steps(session, meta, ids[:, :8].numpy(), ids[:, 8:].numpy()))
    cached = max(float(np.abs(s[0] - expected[7 + i]).max()) for i, s in enumerate(steps))
    assert at_once <= TOL and cached <= TOL, f"{family}: ONNX at once {at_once}, cached {cached}"


def test_hf_export_reloads_as_the_original(pretrained, tmp_path):
    family, hf, ours, spec, ids = pretrained
    run = tmp_path / "run"
    save_checkpoint(RunDir(run), ours, None, {"iteration": 0, "tokenizer": spec})
    out = export_hf(run, tmp_path / "out", None)
    original, exported = hf.config, AutoConfig.from_pretrained(out)
    assert exported.architectures == [CLASSES[family]]
    for key in ("num_key_value_heads", "intermediate_size", "rope_theta", "rms_norm_eps", "vocab_size"):
        assert getattr(exported, key) == getattr(original, key), key
    # Qwen2's config has no head_dim: hidden_size / heads, which the export writes out
    head_dim = getattr(original, "head_dim", original.hidden_size // original.num_attention_heads)
    assert exported.head_dim == head_dim
    reloaded = AutoModelForCausalLM.from_pretrained(out)
    worst = float(np.abs(transformers_logits(reloaded, ids) - transformers_logits(hf, ids)).max())
    assert worst <= TOL, f"{family}: the hf export reloaded {worst}"
    # the folder's tokenizer goes along as it came
    text = "First Citizen:\nBefore we proceed, naïve café"
    assert (
        AutoTokenizer.from_pretrained(out)(text)["input_ids"]
        == Tokenizer.from_str(json.dumps(spec["json"])).encode(text).ids
    )


def test_gguf_file_gives_transformers_logits(pretrained, tmp_path):
    family, hf, ours, spec, ids = pretrained
    run = tmp_path / "run"
    save_checkpoint(RunDir(run), ours, None, {"iteration": 0, "tokenizer": spec})
    path = export_gguf(run, tmp_path / "m.gguf", None)
    worst = float(np.abs(gguf_logits(path, ids[0].tolist()) - transformers_logits(hf, ids)).max())
    assert worst <= TOL, f"{family}: GGUF {worst}"
    r = gguf.GGUFReader(path)
    assert field(r, gguf.Keys.General.ARCHITECTURE) == family
    # the tokenizer's ids, then the embedding's rows past them as unused [PAD] tokens
    tokens, types = field(r, gguf.Keys.Tokenizer.LIST), field(r, gguf.Keys.Tokenizer.TOKEN_TYPE)
    vocab = Tokenizer.from_str(json.dumps(spec["json"])).get_vocab(with_added_tokens=True)
    assert len(tokens) == ours.config.vocab_size > len(vocab)
    assert tokens[: len(vocab)] == sorted(vocab, key=vocab.get)
    assert tokens[len(vocab) :] == [f"[PAD{i}]" for i in range(len(vocab), len(tokens))]
    assert types[len(vocab) :] == [gguf.TokenType.UNUSED] * (len(tokens) - len(vocab))
    assert types[spec["end_of_text"]] == gguf.TokenType.CONTROL
    assert field(r, gguf.Keys.Tokenizer.EOS_ID) == spec["end_of_text"]
    assert field(r, gguf.Keys.Tokenizer.PRE) == "gpt-2"  # hf_models' tokenizer: GPT-2's split


# Qwen2's and Qwen3's tokenizer.json split, as their folders spell it (digits one at a time)
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def split(regex: str) -> dict:
    return {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False}


@pytest.mark.parametrize(
    "pre_tokenizer, name",
    [
        ([split(LLAMA3_SPLIT), {"type": "ByteLevel", "use_regex": False}], "llama-bpe"),
        (
            [split(QWEN2_SPLIT), {"type": "ByteLevel", "use_regex": False}],
            "qwen2",
        ),
        ([{"type": "Digits", "individual_digits": True}, {"type": "ByteLevel", "use_regex": True}], "smollm"),
        ([{"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}], "gpt-2"),
        ([{"type": "Whitespace"}], None),
        ([split(r"\s+"), {"type": "ByteLevel", "use_regex": False}], None),
    ],
    ids=["llama3", "qwen2", "smollm2", "gpt2", "whitespace", "other-split"],
)
def test_gguf_names_the_folders_split_or_refuses_it(pre_tokenizer, name):
    hf = {"pre_tokenizer": {"type": "Sequence", "pretokenizers": pre_tokenizer}}
    if name is not None:
        assert _pre_tokenizer(hf, "/models/x") == name
        return
    with pytest.raises(TrainerError, match="/models/x's tokenizer.json .* --format hf") as err:
        _pre_tokenizer(hf, "/models/x")
    assert err.value.key == "data.dataset"
