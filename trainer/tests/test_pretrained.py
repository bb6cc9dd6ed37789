"""Issue 3 point 2: GPT-2 weights through transformers; logits equal within 1e-4. Issue 20:
fine-tuning them at a shorter context than theirs, end to end. `export --from`: a pretrained
GPT-2 as a run folder of its own, untrained, whose ONNX model gives transformers' logits."""

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from conftest import by_type, read_events, run_trainer, tiny_config, write_config
from jsonschema import Draft7Validator
from transformers import GPT2Config, GPT2LMHeadModel

from wordplay_trainer.commands import export
from wordplay_trainer.common.errors import TrainerError
from wordplay_trainer.export.pretrained_run import export_pretrained
from wordplay_trainer.train.checkpoint import load_model
from wordplay_trainer.train.config import load_schema
from wordplay_trainer.train.gpt2_weights import from_pretrained


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    return random_gpt2(
        tmp_path_factory.mktemp("gpt2-tiny"),
        GPT2Config(vocab_size=100, n_positions=32, n_embd=32, n_layer=2, n_head=4),
    )


def random_gpt2(folder, config: GPT2Config):
    """A small GPT-2 made here, saved as a Hugging Face folder like a downloaded one."""
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config).eval()
    # jitter every weight: fresh layer norms are all 1 and biases all 0, which a loader that
    # dropped them would reproduce anyway
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.save_pretrained(folder)
    return folder, model


def test_logits_equal_transformers(hf_folder):
    folder, hf = hf_folder
    ours = from_pretrained(str(folder)).eval()
    assert ours.config.vocab_size == 100 and ours.config.padded_vocab_size == 128
    idx = torch.randint(100, (2, 20), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = hf(idx).logits
        logits, _ = ours(idx, idx)
    assert torch.allclose(logits[..., :100], expected, atol=1e-4)


def test_block_size_cropped(hf_folder):
    folder, hf = hf_folder
    ours = from_pretrained(str(folder), block_size=8).eval()
    assert ours.config.block_size == 8
    idx = torch.randint(100, (1, 8))
    with torch.no_grad():
        assert torch.allclose(ours(idx, idx)[0][..., :100], hf(idx).logits, atol=1e-4)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(TrainerError) as info:
        from_pretrained(str(tmp_path / "nothing"))
    assert info.value.key == "train.init_from"


# ---- fine-tuning at another context length (issue 20) ---------------------------------


def gpt2_dataset(out) -> object:
    """A GPT-2 BPE dataset folder as `wordplay prepare --tokenizer gpt2` writes it (random ids)."""
    out.mkdir(parents=True)
    ids = np.random.default_rng(0).integers(0, 50257, 4000).astype("<u2")
    ids[:3600].tofile(out / "train.bin")
    ids[3600:].tofile(out / "val.bin")
    (out / "tokenizer.json").write_text(json.dumps({"type": "gpt2"}))
    meta = {
        "source": ["test"],
        "sha256": "0" * 64,
        "tokenizer": "gpt2",
        "vocab_size": 50257,
        "dtype": "uint16",
    }
    meta |= {
        "documents": 1,
        "characters": 16000,
        "train_characters": 14400,
        "train_tokens": 3600,
        "val_tokens": 400,
    }
    (out / "meta.json").write_text(json.dumps({**meta, "created": "2026-01-01T00:00:00Z"}))
    return out


@pytest.fixture(scope="module")
def gpt2_vocab_folder(tmp_path_factory):
    """GPT-2's vocabulary and a 32-position context, so a GPT-2 BPE dataset can fine-tune it."""
    config = GPT2Config(vocab_size=50257, n_positions=32, n_embd=16, n_layer=1, n_head=2)
    return random_gpt2(tmp_path_factory.mktemp("gpt2-vocab"), config)[0]


def finetune_config(tmp_path, folder, block_size: int):
    train = {"init_from": str(folder), "max_iters": 10, "eval_interval": 5, "always_save_checkpoint": True}
    return write_config(
        tmp_path / "c.json",
        tiny_config(gpt2_dataset(tmp_path / "data"), model={"block_size": block_size}, train=train),
    )


def test_cropped_context_trains_checkpoints_resumes_and_exports(tmp_path, gpt2_vocab_folder, monkeypatch):
    monkeypatch.delenv("WORDPLAY_SKIP_EXPORT")
    cfg, run_dir = finetune_config(tmp_path, gpt2_vocab_folder, block_size=16), tmp_path / "run"
    assert run_trainer(cfg, run_dir) == 0
    assert [e["iter"] for e in by_type(read_events(run_dir), "checkpoint")] == [5, 10]
    assert run_trainer(cfg, run_dir, "train.init_from=resume", "train.max_iters=15") == 0
    events = read_events(run_dir)
    assert events[-1]["reason"] == "finished" and by_type(events, "checkpoint")[-1]["iter"] == 15

    model, _ = load_model(run_dir)
    assert model.config.block_size == 16 and model.transformer.wpe.weight.shape[0] == 16
    meta = json.loads((run_dir / "model.json").read_text())
    assert meta["architecture"]["block_size"] == 16 and meta["vocab_size"] == 50257
    ids = torch.randint(0, 50257, (1, 16), generator=torch.Generator().manual_seed(2))
    feeds = {"input_ids": ids.numpy(), "position_ids": np.arange(16)[None], "all_positions": np.array(False)}
    feeds |= {n: np.zeros((1, 0, meta["kv_cache"]["width"]), np.float32) for n in meta["inputs"][2:]}
    session = ort.InferenceSession(str(run_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = model.eval()(ids)[0][0, -1, : meta["vocab_size"]].numpy()
    # both give the padded vocabulary's rows too; only the real tokens are compared
    got = session.run(None, feeds)[0][0, : meta["vocab_size"]]
    assert np.abs(got - expected).max() <= 1e-4


def test_context_longer_than_the_pretrained_one_is_refused(tmp_path, gpt2_vocab_folder):
    cfg, run_dir = finetune_config(tmp_path, gpt2_vocab_folder, block_size=64), tmp_path / "run"
    assert run_trainer(cfg, run_dir) == 1
    error = by_type(read_events(run_dir), "error")[-1]
    assert error["key"] == "model.block_size"
    assert "model.block_size: 64 exceeds the 32 positions" in error["message"]


# ---- export --from: the weights as they are, a run of their own ------------------------


def test_export_from_a_folder_gives_transformers_logits(tmp_path, gpt2_vocab_folder, capsys):
    run_dir = tmp_path / "runs" / "gpt2-vocab-pretrained"
    assert export.main(["--from", str(gpt2_vocab_folder), "--run", str(run_dir)]) == 0
    assert capsys.readouterr().out.strip() == str(run_dir / "model.onnx")
    # the run folder and nothing else: the temporary folder was renamed into place
    assert [p.name for p in run_dir.parent.iterdir()] == [run_dir.name]
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "config.json",
        "events.jsonl",
        "model.json",
        "model.onnx",
    ]

    meta = json.loads((run_dir / "model.json").read_text())
    source = str(gpt2_vocab_folder.resolve())
    assert meta["pretrained"] == source and meta["tokenizer"] == {"type": "gpt2"}
    assert (meta["iter"], meta["val_loss"], meta["block_size"], meta["vocab_size"]) == (None, None, 32, 50257)
    config = json.loads((run_dir / "config.json").read_text())
    assert not list(Draft7Validator(load_schema()).iter_errors(config))
    assert config["train"] == {"init_from": source} and "data" not in config
    # finished at iteration 0, never started: no faked start, loss or evaluation
    assert [(e["type"], e["reason"], e["iter"]) for e in read_events(run_dir)] == [("done", "finished", 0)]

    hf = GPT2LMHeadModel.from_pretrained(gpt2_vocab_folder).eval()
    ids = torch.randint(0, 50257, (1, 32), generator=torch.Generator().manual_seed(3))
    feeds = {"input_ids": ids.numpy(), "position_ids": np.arange(32)[None], "all_positions": np.array(True)}
    feeds |= {n: np.zeros((1, 0, meta["kv_cache"]["width"]), np.float32) for n in meta["inputs"][2:]}
    session = ort.InferenceSession(str(run_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(["all_logits"], feeds)[0]
    with torch.no_grad():
        expected = hf(ids).logits.numpy()
    assert got.shape == expected.shape == (1, 32, 50257)
    assert np.abs(got - expected).max() <= 1e-4


def test_export_from_refuses_a_run_folder_that_is_not_empty(tmp_path, gpt2_vocab_folder, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "notes.txt").write_text("mine")
    assert export.main(["--from", str(gpt2_vocab_folder), "--run", str(run_dir)]) == 1
    assert "is not empty" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["run"] and [p.name for p in run_dir.iterdir()] == [
        "notes.txt"
    ]


def test_export_from_an_unknown_source_names_from_and_the_fix(tmp_path, capsys):
    assert export.main(["--from", str(tmp_path / "gpt3"), "--run", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "--from" in err and "gpt2, gpt2-medium, gpt2-large, gpt2-xl" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_export_from_refuses_a_vocabulary_gpt2_tokenizer_cannot_read(tmp_path, hf_folder):
    with pytest.raises(TrainerError) as info:
        export_pretrained(str(hf_folder[0]), tmp_path / "run", None)
    assert info.value.key == "--from" and "100 tokens, not GPT-2's 50257" in info.value.message
    assert list(tmp_path.iterdir()) == []


def test_a_failed_export_from_leaves_nothing(tmp_path, gpt2_vocab_folder):
    # an unknown quantization fails inside the export, once the temporary folder exists
    with pytest.raises(ValueError, match="int4"):
        export_pretrained(str(gpt2_vocab_folder), tmp_path / "runs" / "run", "int4")
    assert list((tmp_path / "runs").iterdir()) == []
