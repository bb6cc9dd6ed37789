"""Issue 29, LoRA (train.lora, train/lora.py): adapters on a frozen pretrained model. The base stays
bit-identical and out of the checkpoints, the merge is the base plus scale·B·A, only the adapters
train and the loss falls, a resume continues (and refuses a changed base), two DDP processes train
as one, the exports merge, and `--format peft` reloads in PEFT equal to our merged model; the
refusals name their keys.

Bases: a Llama-shaped GPT of our own for the arithmetic; through the trainer, a tiny random Qwen3
folder (hf_models.py: grouped-query attention, qk-norm, a head size of its own, a tied head) with
a dataset in its tokenizer; for PEFT's fused c_attn, a tiny random GPT-2 folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import hf_models
import numpy as np
import pytest
import torch
from conftest import (
    by_type,
    last_error,
    needs_torchrun,
    read_events,
    run_trainer,
    tiny_config,
    torchrun,
    write_config,
)
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel

from wordplay_trainer.commands import export
from wordplay_trainer.common.errors import ConfigError
from wordplay_trainer.export.peft_adapter import logits_difference
from wordplay_trainer.run.rundir import RunDir
from wordplay_trainer.train import checkpoint as ckpt
from wordplay_trainer.train import lora
from wordplay_trainer.train.checkpoint import save_full_state
from wordplay_trainer.train.config import apply_overrides, load_config
from wordplay_trainer.train.hf_weights import load_pretrained
from wordplay_trainer.train.model import GPT, GPTConfig
from wordplay_trainer.train.run_config import LoraConfig

ALL = ("q", "k", "v", "o", "gate", "up", "down")


def llama_like() -> GPT:
    """Our GPT as a Llama: rotary, RMSNorm, SwiGLU, grouped-query attention, an untied head."""
    torch.manual_seed(0)
    shape = dict(vocab_size=100, block_size=16, n_layer=2, n_head=4, n_kv_head=2, n_embd=32)
    return GPT(GPTConfig(**shape, position="rope", norm="rmsnorm", mlp="swiglu", tie_embeddings=False))


def jitter_adapters(model: GPT) -> None:
    """B starts at zero (the adapters change nothing): give every adapter a value."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if lora.is_adapter(name):
                p.normal_(0, 0.1)


def test_merge_is_the_base_plus_the_low_rank_product():
    model = llama_like()
    base = {k: v.clone() for k, v in model.state_dict().items()}
    idx = torch.randint(100, (2, 16), generator=torch.Generator().manual_seed(1))
    before = model(idx, idx)[0]
    lora.apply(model, LoraConfig(rank=4, alpha=8.0, dropout=0.0, targets=("q", "v", "o", "gate", "down")))
    assert torch.equal(model(idx, idx)[0], before)  # B = 0: the base's output exactly
    jitter_adapters(model)
    merged = lora.merged(model)
    weights = merged.state_dict()
    assert set(weights) == set(base)
    attn = model.transformer.h[1].attn
    q, k = attn.widths[0], attn.widths[1]
    product = lambda name, s: 2.0 * attn.c_attn.lora_B[s] @ attn.c_attn.lora_A[s]  # noqa: E731
    w = weights["transformer.h.1.attn.c_attn.weight"]
    assert torch.allclose(w[:q], base["transformer.h.1.attn.c_attn.weight"][:q] + product("c_attn", "q"))
    assert torch.equal(w[q : q + k], base["transformer.h.1.attn.c_attn.weight"][q : q + k])  # k: no adapter
    untouched = [n for n in base if not n.endswith(("c_attn.weight", "c_proj.weight", "c_gate.weight"))]
    assert all(torch.equal(weights[n], base[n]) for n in untouched)  # up (c_fc), norms, embeddings
    assert torch.allclose(merged(idx, idx)[0], model(idx, idx)[0], atol=1e-5)
    assert not torch.allclose(merged(idx, idx)[0], before, atol=1e-3)


def test_only_the_adapters_train():
    model = llama_like()
    lora.apply(model, LoraConfig(rank=2, alpha=16.0, dropout=0.0, targets=ALL))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(lora.is_adapter(n) for n in trainable)
    # q, k, v each an A and a B on c_attn; o, gate, up, down one each: 7 pairs a layer
    assert len(trainable) == 2 * 7 * 2
    # rank · (in + out) each: q 32→32, k and v 32→16 (2 key/value heads), o 32→32, gate and up
    # 32→80 (SwiGLU's 8/3 · 32 down to a multiple of 8), down 80→32; two layers
    assert lora.trainable(model) == 2 * 2 * (64 + 48 + 48 + 64 + 112 + 112 + 112)


def test_adapter_counts_are_the_estimates():
    """The config editor's count (src/core/train/loraParams.ts, estimate.test.ts) of the same shapes."""
    settings = LoraConfig(rank=8, alpha=16.0, dropout=0.0, targets=ALL)
    with torch.device("meta"):
        gpt2 = GPT(GPTConfig(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768, bias=True))
        qwen3 = GPT(
            GPTConfig(
                vocab_size=151936,
                n_layer=28,
                n_head=16,
                n_kv_head=8,
                head_dim=128,
                n_embd=1024,
                mlp_hidden=3072,
                position="rope",
                norm="rmsnorm",
                qk_norm=True,
                mlp="swiglu",
            )
        )
    lora.apply(gpt2, settings)
    lora.apply(qwen3, LoraConfig(rank=16, alpha=16.0, dropout=0.0, targets=ALL))
    assert lora.trainable(gpt2) == 1_327_104
    assert lora.trainable(qwen3) == 10_092_544  # PEFT's count for Qwen3-0.6B at r=16, all-linear


# ---- a Qwen3 base through the trainer ---------------------------------------------------------


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return hf_models.write_model("qwen3", tmp_path_factory.mktemp("qwen3") / "base")[0]


@pytest.fixture(scope="module")
def data(tmp_path_factory, base) -> Path:
    return hf_models.write_dataset(base, tmp_path_factory.mktemp("qwen3-data") / "data")


def lora_config(tmp_path: Path, base: Path, data: Path, **lora_settings) -> Path:
    train = {"init_from": str(base), "max_iters": 30, "eval_interval": 15, "always_save_checkpoint": True}
    train["keep_exports"] = 1  # a completion model at each evaluation, merged
    train["lora"] = {"rank": 4, "alpha": 8, **lora_settings}
    optimizer = {"learning_rate": 0.01, "min_lr": 0.001, "warmup_iters": 2}
    cfg = tiny_config(data, train=train, optimizer=optimizer)
    cfg["model"] = {"block_size": 32}  # the base's shape is its own
    return write_config(tmp_path / "c.json", cfg)


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory, base, data) -> tuple[Path, Path]:
    """A LoRA run on the Qwen3 base: q, k (not v) and o, gate and down (not up), 30 iterations."""
    folder = tmp_path_factory.mktemp("lora-run")
    cfg = lora_config(folder, base, data, targets=["q", "k", "o", "gate", "down"])
    assert run_trainer(cfg, folder / "run") == 0
    return cfg, folder / "run"


def test_a_lora_run_leaves_the_base_and_checkpoints_only_adapters(lora_run, base):
    cfg, run_dir = lora_run
    assert sorted(p.name for p in (run_dir / "exports").iterdir()) == ["iter-000030"]
    losses = [e["loss"] for e in by_type(read_events(run_dir), "train")]
    assert np.mean(losses[-2:]) < np.mean(losses[:2]) - 0.3, losses
    weights = load_file(run_dir / "checkpoint" / "model.safetensors")
    assert weights and all(lora.is_adapter(k) for k in weights)
    base_bytes = (base / "model.safetensors").stat().st_size
    assert (run_dir / "checkpoint" / "model.safetensors").stat().st_size < base_bytes / 4
    state = json.loads((run_dir / "checkpoint" / "state.json").read_text())
    assert state["lora"]["base"] == state["lora"]["folder"] == str(base)
    assert "model.safetensors" in state["lora"]["files"]
    # the base reloads bit-identical; the merge changes the adapted weights alone, by B·A
    frozen = load_pretrained(str(base), block_size=32).state_dict()
    merged = ckpt.load_model(run_dir)[0].state_dict()
    changed = {n for n in frozen if not torch.equal(frozen[n], merged[n])}
    projections = ("attn.c_attn", "attn.c_proj", "mlp.c_gate", "mlp.c_proj")
    assert changed == {f"transformer.h.{i}.{p}.weight" for i in (0, 1) for p in projections}
    a, b = weights["transformer.h.0.attn.c_attn.lora_A.k"], weights["transformer.h.0.attn.c_attn.lora_B.k"]
    w, w0 = merged["transformer.h.0.attn.c_attn.weight"], frozen["transformer.h.0.attn.c_attn.weight"]
    q, kv = 4 * 24, 2 * 24  # 4 query heads and 2 key/value heads of 24
    assert torch.allclose(w[q : q + kv], w0[q : q + kv] + 2.0 * b @ a, atol=1e-6)  # k's rows; 8 / 4
    assert torch.equal(w[q + kv :], w0[q + kv :])  # v: no adapter


def test_the_exports_are_the_merged_model(lora_run, data, tmp_path):
    """ONNX for completion and the Hugging Face folder hold the merge: the model the adapters
    trained."""
    from wordplay_trainer.check.parity import onnx_parity
    from wordplay_trainer.export.onnx_model import export_run

    _, run_dir = lora_run
    state = ckpt.read_state(run_dir / "checkpoint")
    adapted = lora.load_checkpoint(run_dir / "checkpoint", state, 0.0, "test").eval()
    merged, _ = ckpt.load_model(run_dir)
    ids = torch.randint(100, (1, 32), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.allclose(merged(ids, ids)[0], adapted(ids, ids)[0], atol=1e-5)
    copy = Path(shutil.copytree(run_dir, tmp_path / "run"))
    export_run(copy)
    parity = onnx_parity(copy, data)
    assert parity["max_abs_diff"] <= parity["tolerance"], parity
    assert export.main(["--run", str(run_dir), "--format", "hf", "--out", str(tmp_path / "hf")]) == 0
    hf = AutoModelForCausalLM.from_pretrained(tmp_path / "hf").eval()
    with torch.no_grad():
        assert (hf(ids).logits - adapted(ids, ids)[0][..., : hf.config.vocab_size]).abs().max() <= 1e-4


def test_a_lora_run_resumes(lora_run, tmp_path):
    cfg, run_dir = lora_run
    copy = Path(shutil.copytree(run_dir, tmp_path / "run"))
    assert run_trainer(cfg, copy, "train.init_from=resume", "train.max_iters=40") == 0
    events = read_events(copy)
    assert events[-1]["reason"] == "finished" and by_type(events, "checkpoint")[-1]["iter"] == 40
    first = load_file(run_dir / "checkpoint" / "model.safetensors")
    later = load_file(copy / "checkpoint" / "model.safetensors")
    assert set(first) == set(later) and any(not torch.equal(first[k], later[k]) for k in first)


def test_a_changed_base_is_refused(lora_run, base, tmp_path):
    cfg, run_dir = lora_run
    moved = Path(shutil.copytree(base, tmp_path / "base"))
    copy = Path(shutil.copytree(run_dir, tmp_path / "run"))
    state_file = copy / "checkpoint" / "state.json"
    state = json.loads(state_file.read_text())
    state["lora"]["folder"] = str(moved)
    state_file.write_text(json.dumps(state))
    with (moved / "model.safetensors").open("r+b") as f:  # one bit of the last weight, same size
        f.seek(-1, 2)
        last = f.read(1)
        f.seek(-1, 2)
        f.write(bytes([last[0] ^ 1]))
    assert run_trainer(cfg, copy, "train.init_from=resume", "train.max_iters=40") == 1
    error = last_error(copy)
    assert error["key"] == str(moved / "model.safetensors") and "changed since" in error["message"]


# ---- PEFT's format -----------------------------------------------------------------------------


def test_peft_export_reloads_equal_to_the_merged_model(lora_run, tmp_path):
    _, run_dir = lora_run
    out = tmp_path / "adapter"
    assert export.main(["--run", str(run_dir), "--format", "peft", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["adapter_config.json", "adapter_model.safetensors"]
    config = json.loads((out / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"], config["peft_type"], config["rank_pattern"]) == (
        4,
        8,
        "LORA",
        {},
    )
    expected = ["mlp.down_proj", "mlp.gate_proj", "self_attn.k_proj", "self_attn.o_proj", "self_attn.q_proj"]
    assert sorted(config["target_modules"]) == expected
    keys = load_file(out / "adapter_model.safetensors")
    assert keys["base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight"].shape == (2 * 24, 4)
    assert len(keys) == 2 * 5 * 2
    state = ckpt.read_state(run_dir / "checkpoint")
    model = lora.load_checkpoint(run_dir / "checkpoint", state, 0.0, "test")
    assert logits_difference(model, state["lora"]["base"], out) <= 1e-4


def written_lora_run(tmp_path: Path, folder: Path, targets: tuple[str, ...], tokenizer: dict) -> Path:
    """A run folder holding a LoRA checkpoint on the model folder, its adapters random (as
    training would leave them), written as the trainer writes one."""
    model = load_pretrained(str(folder), block_size=32)
    settings = LoraConfig(rank=4, alpha=8.0, dropout=0.0, targets=targets)
    lora.apply(model, settings)
    jitter_adapters(model)
    state = {"iteration": 1, "tokenizer": tokenizer, "lora": lora.record(settings, str(folder))}
    run = tmp_path / "run"
    save_full_state(RunDir(run), model.config, lora.adapter_state(model.state_dict()), None, state)
    return run


@pytest.mark.parametrize("family", ["llama", "qwen2"])
def test_peft_export_of_every_family(tmp_path, family):
    """Llama (grouped-query attention, rope_theta 500000) and Qwen2 (q/k/v biases, an untied
    head) with every projection adapted: PEFT on the base gives the merged model's logits."""
    folder = hf_models.write_model(family, tmp_path / family)[0]
    run = written_lora_run(tmp_path, folder, ALL, {"type": "hf"})
    out = tmp_path / "adapter"
    assert export.main(["--run", str(run), "--format", "peft", "--out", str(out)]) == 0
    assert len(json.loads((out / "adapter_config.json").read_text())["target_modules"]) == 7
    state = ckpt.read_state(run / "checkpoint")
    model = lora.load_checkpoint(run / "checkpoint", state, 0.0, "test")
    assert logits_difference(model, str(folder), out) <= 1e-4


def test_peft_export_of_gpt2s_fused_c_attn(tmp_path):
    """GPT-2's q, k, v are one Conv1D in PEFT too: the k and v adapters go on c_attn stacked, as
    one adapter of twice the rank with the same scale."""
    folder = tmp_path / "gpt2"
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=100, n_positions=32, n_embd=32, n_layer=2, n_head=4)
    GPT2LMHeadModel(config).save_pretrained(folder)
    run = written_lora_run(tmp_path, folder, ("k", "v", "up"), {"type": "gpt2"})
    out = tmp_path / "adapter"
    assert export.main(["--run", str(run), "--format", "peft", "--out", str(out)]) == 0
    config = json.loads((out / "adapter_config.json").read_text())
    assert sorted(config["target_modules"]) == ["attn.c_attn", "mlp.c_fc"] and config["fan_in_fan_out"]
    assert config["rank_pattern"] == {"attn.c_attn": 8} and config["alpha_pattern"] == {"attn.c_attn": 16}
    b = load_file(out / "adapter_model.safetensors")[
        "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight"
    ]
    assert b.shape == (96, 8) and not b[:32].any() and not b[32:64, 4:].any() and not b[64:, :4].any()
    state = ckpt.read_state(run / "checkpoint")
    model = lora.load_checkpoint(run / "checkpoint", state, 0.0, "test")
    assert logits_difference(model, state["lora"]["base"], out) <= 1e-4


def test_peft_export_of_a_full_run_is_refused(tiny_run, tmp_path, capsys):
    _, run_dir, _ = tiny_run
    assert export.main(["--run", str(run_dir), "--format", "peft", "--out", str(tmp_path / "a")]) == 1
    assert "train.lora" in capsys.readouterr().err and not (tmp_path / "a").exists()


# ---- refusals ------------------------------------------------------------------------------------


def test_refusals_name_their_keys(dataset, base):
    with pytest.raises(ConfigError) as info:
        load_config(tiny_config(dataset, train={"lora": {"rank": 4}}))
    assert [k for k, _ in info.value.problems] == ["train.lora.rank"]  # from scratch
    with pytest.raises(ConfigError) as info:
        load_config(
            tiny_config(dataset, train={"init_from": "resume", "lora": {"rank": 4, "targets": ["q", "x"]}})
        )
    assert [k for k, _ in info.value.problems] == ["train.lora.targets.1"]
    sets = ["train.init_from=resume", "train.lora.rank=8", "optimizer.name=muon", "distributed.backend=fsdp"]
    with pytest.raises(ConfigError) as info:
        load_config(tiny_config(dataset), [*sets, "train.lora.targets=q,v"])
    assert [k for k, _ in info.value.problems] == ["optimizer.name", "distributed.backend"]
    assert apply_overrides({}, ["train.lora.targets=q, v"]) == {"train": {"lora": {"targets": ["q", "v"]}}}


def test_resuming_a_lora_run_with_muon_is_refused(lora_run, tmp_path):
    cfg, run_dir = lora_run
    copy = Path(shutil.copytree(run_dir, tmp_path / "run"))
    sets = ("train.init_from=resume", "train.max_iters=40", "train.lora.rank=null", "optimizer.name=muon")
    assert run_trainer(cfg, copy, *sets) == 1
    assert last_error(copy)["key"] == "optimizer.name"


def test_resuming_a_full_run_with_lora_is_refused(saved_run):
    cfg, run_dir = saved_run
    code = run_trainer(cfg, run_dir, "train.init_from=resume", "train.max_iters=30", "train.lora.rank=4")
    assert code == 1 and last_error(run_dir)["key"] == "train.lora.rank"


@needs_torchrun
def test_two_ddp_processes_train_lora_as_one(tmp_path, base, data):
    """Every process draws its share of the same micro-batches: two processes accumulating one
    each train as one process accumulating two. DDP needs no find_unused_parameters: every
    adapter is used, and the frozen base has no gradient to reduce."""
    cfg = lora_config(tmp_path, base, data)
    sets = ("train.max_iters=6", "train.gradient_accumulation_steps=2", "train.log_interval=1")
    torchrun(cfg, tmp_path / "ddp", *sets)
    assert run_trainer(cfg, tmp_path / "one", *sets) == 0
    ddp = [e["loss"] for e in by_type(read_events(tmp_path / "ddp"), "train")]
    one = [e["loss"] for e in by_type(read_events(tmp_path / "one"), "train")]
    assert len(ddp) == 6 and np.allclose(ddp, one, rtol=1e-4, atol=0)
    a = load_file(tmp_path / "ddp" / "checkpoint" / "model.safetensors")
    b = load_file(tmp_path / "one" / "checkpoint" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-5) for k in b)
