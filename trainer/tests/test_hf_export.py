"""`export --format hf`: a run as a Hugging Face folder that transformers' own classes load (no
trust_remote_code) with our logits, and AutoTokenizer with our tokenizers (export/hf_folder.py,
hf_tokenizer.py)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import (
    MUON_RECIPE,
    TEXT,
    TRAINER_DIR,
    char_dataset,
    run_trainer,
    tiny_config,
    write_config,
)
from make_reference import VOCAB, tiny_model
from tokenizers import Tokenizer
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GPT2TokenizerFast

from wordplay_trainer.common.errors import TrainerError
from wordplay_trainer.export import hf_folder
from wordplay_trainer.export.hf_folder import export_hf
from wordplay_trainer.prepare import bpe
from wordplay_trainer.prepare.dataset import GPT2_VOCAB, tokenizer_vocab_size
from wordplay_trainer.run.rundir import RunDir
from wordplay_trainer.train.checkpoint import load_model, save_checkpoint

CHAR = {"type": "char", "vocab": VOCAB}
TOL = 1e-4
ROPE = {"position": "rope", "norm": "rmsnorm"}

# every row of hf_folder.HF_ARCHITECTURES, with and without biases (where the class has them)
# and with the head tied and untied
VARIANTS = {
    "gpt2": ({}, "GPT2LMHeadModel"),
    "gpt2-bias-untied": ({"bias": True, "tie_embeddings": False}, "GPT2LMHeadModel"),
    "gpt2-relu2": ({"mlp": "relu2", "bias": True}, "GPT2LMHeadModel"),
    "llama": ({**ROPE, "mlp": "swiglu"}, "LlamaForCausalLM"),
    "llama-bias-untied": (
        {**ROPE, "mlp": "swiglu", "bias": True, "tie_embeddings": False},
        "LlamaForCausalLM",
    ),
    "qwen3-demo-preset": (MUON_RECIPE["model"], "Qwen3ForCausalLM"),
    "qwen3-untied": ({**ROPE, "mlp": "swiglu", "qk_norm": True, "tie_embeddings": False}, "Qwen3ForCausalLM"),
    "arcee-relu2-bias": ({**ROPE, "mlp": "relu2", "bias": True}, "ArceeForCausalLM"),
    "arcee-gelu-untied": ({**ROPE, "mlp": "gelu", "tie_embeddings": False}, "ArceeForCausalLM"),
    "apertus-relu2": ({**ROPE, "mlp": "relu2", "qk_norm": True}, "ApertusForCausalLM"),
    "apertus-gelu-untied": (
        {**ROPE, "mlp": "gelu", "qk_norm": True, "tie_embeddings": False},
        "ApertusForCausalLM",
    ),
}


def write_run(run_dir: Path, model, tokenizer: dict) -> Path:
    """A run folder with `model` saved through the trainer's own checkpoint code."""
    state = {"iteration": 7, "val_loss": 2.1, "best_val_loss": 2.0, "tokenizer": tokenizer}
    save_checkpoint(RunDir(run_dir), model, None, state)
    return run_dir


def max_logits_difference(model, folder: Path, ids: torch.Tensor) -> float:
    hf = AutoModelForCausalLM.from_pretrained(folder)  # no trust_remote_code
    with torch.no_grad():
        ours = model(ids, ids)[0][..., : model.config.vocab_size]
        return float((ours - hf(ids).logits).abs().max())


@pytest.fixture(scope="module", params=list(VARIANTS.values()), ids=list(VARIANTS))
def exported(request, tmp_path_factory):
    options, cls = request.param
    model = tiny_model(block_size=256, **options)
    base = tmp_path_factory.mktemp("hf")
    out = export_hf(write_run(base / "run", model, CHAR), base / "out", None)
    return model, out, cls


def test_transformers_gives_our_logits(exported):
    model, out, cls = exported
    assert json.loads((out / "config.json").read_text())["architectures"] == [cls]
    # 2 x 256 positions of random tokens, on the real vocabulary
    ids = torch.randint(len(VOCAB), (2, 256), generator=torch.Generator().manual_seed(1))
    worst = max_logits_difference(model, out, ids)
    assert worst <= TOL, f"max abs difference {worst}"


def test_folder_holds_the_real_vocabulary_and_no_more(exported):
    model, out, _ = exported
    files = {p.name for p in out.iterdir()}
    assert {"model.safetensors", "config.json", "generation_config.json", "tokenizer.json"} <= files
    assert {"tokenizer_config.json", "README.md"} <= files
    config = AutoConfig.from_pretrained(out)
    assert config.vocab_size == len(VOCAB) < model.config.padded_vocab_size
    assert config.tie_word_embeddings == model.config.tie_embeddings
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "a temporary folder was left"


def test_char_tokenizer_encodes_and_decodes_as_ours(exported):
    _, out, _ = exported
    tok = AutoTokenizer.from_pretrained(out)
    index = {ch: i for i, ch in enumerate(VOCAB)}
    text = "First Citizen:\nBefore we proceed, hear me speak.\n\n  All: Speak!"
    ids = tok(text)["input_ids"]
    assert ids == [index[ch] for ch in text]
    assert tok.decode(ids) == text
    assert len(tok) == len(VOCAB) and tok.eos_token is None
    # documented: a character outside the vocabulary is dropped (ours refuses the text)
    assert tok("Zürich")["input_ids"] == [index[ch] for ch in "Zrich"]


# ---- a trained BPE and GPT-2's vocabulary -------------------------------------------------


def test_bpe_tokenizer_encodes_and_decodes_as_ours(tmp_path):
    trained = bpe.train(iter([TEXT + " naïve café 日本語 😀"]), 300)
    tokenizer = json.loads(trained.to_str())
    model = tiny_model(vocab_size=tokenizer_vocab_size(tokenizer), block_size=64, **MUON_RECIPE["model"])
    out = export_hf(write_run(tmp_path / "run", model, tokenizer), tmp_path / "out", None)
    ours = Tokenizer.from_str(json.dumps(tokenizer))  # what prepare encodes with
    tok = AutoTokenizer.from_pretrained(out)
    text = "First Citizen:\nSpeak, speak.  naïve café 日本語 😀 resolved<|endoftext|>All:"
    ids = tok(text)["input_ids"]
    assert ids == ours.encode(text).ids
    assert tok.decode(ids) == text
    eot = tokenizer_vocab_size(tokenizer) - 1
    assert (tok.eos_token, tok.eos_token_id, tok.bos_token_id) == ("<|endoftext|>", eot, eot)
    config = json.loads((out / "config.json").read_text())
    assert (config["eos_token_id"], config["bos_token_id"]) == (eot, eot)
    assert json.loads((out / "generation_config.json").read_text())["eos_token_id"] == eot
    ids = torch.tensor([ids[:64]])
    assert max_logits_difference(model, out, ids) <= TOL


def gpt2_folder(folder: Path) -> Path:
    """A byte-level vocab.json + merges.txt of GPT-2's size, made here: the 256 bytes, 50,000
    merges of two bytes each, <|endoftext|> last (id 50256), in the format GPT2Tokenizer reads."""
    alphabet = list(bpe.bytes_to_unicode().values())
    pairs = [(a, b) for a in alphabet for b in alphabet][: GPT2_VOCAB - 257]
    vocab = {token: i for i, token in enumerate(alphabet + [a + b for a, b in pairs] + ["<|endoftext|>"])}
    folder.mkdir()
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in pairs))
    return folder


def test_gpt2_run_takes_its_tokenizer_from_the_folder(tmp_path):
    model = tiny_model(vocab_size=GPT2_VOCAB, block_size=32, bias=True)
    run = write_run(tmp_path / "run", model, {"type": "gpt2"})
    with pytest.raises(TrainerError) as info:
        export_hf(run, tmp_path / "out", None)
    assert "wordplay export" in info.value.message and info.value.key == "--gpt2-tokenizer"
    assert not (tmp_path / "out").exists()
    folder = gpt2_folder(tmp_path / "gpt2")
    out = export_hf(run, tmp_path / "out", folder)
    tok = AutoTokenizer.from_pretrained(out)
    reference = GPT2TokenizerFast(
        vocab_file=str(folder / "vocab.json"), merges_file=str(folder / "merges.txt")
    )
    text = "Hello world,\n  naïve café<|endoftext|>again"
    ids = tok(text)["input_ids"]
    assert ids == reference(text)["input_ids"] and tok.decode(ids) == text
    assert len(ids) < len(text.encode()), "the merges apply"
    assert (tok.eos_token_id, len(tok)) == (GPT2_VOCAB - 1, GPT2_VOCAB)
    assert max_logits_difference(model, out, torch.tensor([ids[:32]])) <= TOL


# ---- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options, named",
    [
        ({"norm": "rmsnorm"}, ["model.position", "model.norm"]),
        ({"position": "rope"}, ["model.position", "model.norm"]),
        ({"qk_norm": True}, ["model.qk_norm"]),
        ({**ROPE, "mlp": "swiglu", "qk_norm": True, "bias": True}, ["model.bias"]),
    ],
    ids=["learned-rmsnorm", "rope-layernorm", "gpt2-qk-norm", "qwen3-bias"],
)
def test_architecture_without_a_transformers_class_is_refused(tmp_path, options, named):
    run = write_run(tmp_path / "run", tiny_model(**options), CHAR)
    with pytest.raises(TrainerError) as info:
        export_hf(run, tmp_path / "out", None)
    for key in named:
        assert key in info.value.message
    assert "Qwen3ForCausalLM" in info.value.message, "the combinations that export are listed"
    assert not (tmp_path / "out").exists()


def test_skip_connections_are_refused_naming_the_key(tmp_path):
    """The demo preset's architecture with U-net skips: no transformers class has them."""
    run = write_run(tmp_path / "run", tiny_model(**MUON_RECIPE["model"], skip_connections=True), CHAR)
    with pytest.raises(TrainerError, match="model.skip_connections true has no Hugging Face export") as info:
        export_hf(run, tmp_path / "out", None)
    assert info.value.key == "model.skip_connections" and "--format onnx" in info.value.message
    assert not (tmp_path / "out").exists()


def test_existing_folder_is_refused_unless_empty(tmp_path):
    run = write_run(tmp_path / "run", tiny_model(), CHAR)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(TrainerError) as info:
        export_hf(run, tmp_path / "full", None)
    assert "--out" in info.value.message and info.value.key == "--out"
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep.txt"]
    (tmp_path / "empty").mkdir()
    assert (export_hf(run, tmp_path / "empty", None) / "model.safetensors").is_file()


def test_folder_with_other_logits_never_appears(tmp_path, monkeypatch):
    """The self-check: a model whose weights went wrong on the way is not written."""
    build = hf_folder.hf_model

    def off_by_a_little(model, eot):
        hf = build(model, eot)
        with torch.no_grad():
            hf.lm_head.weight[3, 0] += 0.01
        return hf

    monkeypatch.setattr(hf_folder, "hf_model", off_by_a_little)
    run = write_run(tmp_path / "run", tiny_model(**MUON_RECIPE["model"]), CHAR)
    with pytest.raises(ValueError, match="logits"):
        export_hf(run, tmp_path / "out", None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


# ---- a trained run: the model card, and the command line -----------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("trained")
    dataset = char_dataset(TEXT, base / "data")
    meta = json.loads((dataset / "meta.json").read_text())
    cfg = tiny_config(dataset, model={**MUON_RECIPE["model"], "n_layer": 2, "n_embd": 32})
    cfg["train"].update(max_iters=6, eval_interval=3)
    assert run_trainer(write_config(base / "config.json", cfg), base / "run") == 0
    return base / "run", dataset, meta


def test_model_card_describes_the_run(trained, tmp_path):
    run, dataset, meta = trained
    out = export_hf(run, tmp_path / "out", None)
    card = (out / "README.md").read_text()
    _, state = load_model(run)
    assert card.startswith(
        "---\nlibrary_name: transformers\npipeline_tag: text-generation\ntags:\n- wordplay\n---"
    )
    assert "`Qwen3ForCausalLM`" in card
    assert f"| iteration | {state['iteration']} |" in card and state["iteration"] == 6
    assert f"| val loss (nats per token) | {state['val_loss']:.4f} |" in card
    assert f"| best val loss | {state['best_val_loss']:.4f} |" in card
    # tokens per byte is 1 here, so bits per byte is the loss over ln 2
    assert f"| val bits per byte | {state['val_loss'] / math.log(2):.4f} |" in card
    assert str(dataset) in card and meta["sha256"] in card and f"val_tokens: {meta['val_tokens']}" in card
    shown = json.loads(card.split("```json\n")[1].split("\n```")[0])
    config = json.loads((run / "config.json").read_text())
    assert shown == {group: config[group] for group in ("model", "train", "optimizer")}
    assert "AutoModelForCausalLM.from_pretrained" in card and "AutoTokenizer.from_pretrained" in card


def test_model_card_says_what_is_missing(tmp_path):
    out = export_hf(write_run(tmp_path / "run", tiny_model(), CHAR), tmp_path / "out", None)
    card = (out / "README.md").read_text()
    assert "not found (the run folder has no config.json)" in card
    assert "| val bits per byte | not known" in card


def test_cli_writes_the_folder(trained, tmp_path):
    run, _, _ = trained
    out = tmp_path / "hf"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wordplay_trainer",
            "export",
            "--run",
            str(run),
            "--format",
            "hf",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(TRAINER_DIR), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    model, _ = load_model(run)
    ids = torch.randint(model.config.vocab_size, (1, 16), generator=torch.Generator().manual_seed(2))
    assert max_logits_difference(model, out, ids) <= TOL
