"""Issue 4 points 1, 2 and 5: ONNX export with a KV cache, parity with PyTorch (onnxruntime
for Python), model.json, int8, a Hugging Face GPT-2 folder, and bad inputs; issue 16: the same
parity for every architecture option."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
import transformers
from conftest import MUON_RECIPE, TRAINER_DIR
from make_reference import VOCAB, reference, tiny_model

from wordplay_trainer.commands import export as export_command
from wordplay_trainer.export import onnx_model as ex
from wordplay_trainer.export.onnx_run import cached_steps

CHAR = {"type": "char", "vocab": VOCAB}
TOL = 1e-4


def session(path: Path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def empty_past(meta: dict, batch: int = 1) -> dict[str, np.ndarray]:
    """No past, and the all_positions flag as generation feeds it."""
    shape = (batch, 0, meta["kv_cache"]["width"])
    return {"all_positions": np.array(False), **{n: np.zeros(shape, np.float32) for n in meta["inputs"][2:]}}


def presents(meta: dict, out: list[np.ndarray]) -> list[np.ndarray]:
    return out[1 : 1 + 2 * meta["kv_cache"]["n_layer"]]


def run_steps(sess, meta: dict, prompt: np.ndarray, steps: np.ndarray) -> list[np.ndarray]:
    """Prefill prompt (B, T), then one column of steps (B, S) at a time, as completion runs the
    model (export/onnx_run.py); logits after each."""
    return list(cached_steps(sess, meta, prompt, steps))


# Each architecture option alone, the default recipe's set (the shakespeare-char-cpu preset) and
# every option at once, through the same parity tests.
VARIANTS = {
    "gpt2": {},
    "gpt2-bias": {"bias": True},
    "rope": {"position": "rope"},
    "rmsnorm": {"norm": "rmsnorm"},
    "qk-norm": {"qk_norm": True},
    "relu2": {"mlp": "relu2"},
    "swiglu": {"mlp": "swiglu", "bias": True},
    "untied": {"tie_embeddings": False},
    "skips": {"skip_connections": True},
    "default-recipe": MUON_RECIPE["model"],
    "every-option": {
        "position": "rope",
        "norm": "rmsnorm",
        "qk_norm": True,
        "mlp": "swiglu",
        "tie_embeddings": False,
        "skip_connections": True,
    },
}


@pytest.fixture(scope="module", params=list(VARIANTS.values()), ids=list(VARIANTS))
def exported(request, tmp_path_factory):
    model = tiny_model(block_size=64, **request.param)
    out = tmp_path_factory.mktemp("export")
    state = {"iter": 120, "val_loss": 1.5, "best_val_loss": 1.4}
    path = ex.export_model(model, out, CHAR, state, log=lambda _m: None)
    return model, path, json.loads((out / "model.json").read_text())


def test_prefill_and_50_steps_match_pytorch(exported):
    model, path, meta = exported
    g = torch.Generator().manual_seed(1)
    prompt = torch.randint(0, len(VOCAB), (9,), generator=g).tolist()
    steps = torch.randint(0, len(VOCAB), (50,), generator=g).tolist()
    expected = reference(model, prompt, steps)
    got = run_steps(session(path), meta, np.array([prompt], np.int64), np.array([steps], np.int64))
    assert len(got) == 51
    worst = max(
        float(np.abs(g_[0] - np.array(e, np.float32)).max()) for g_, e in zip(got, expected, strict=True)
    )
    assert worst <= TOL, f"max abs difference {worst}"


def test_batch_chunks_and_present_kv_match_pytorch(exported):
    """Batch 2, a prefill, then a 4-token chunk after a past: logits and every present K/V."""
    model, path, meta = exported
    g = torch.Generator().manual_seed(2)
    ids = torch.randint(0, len(VOCAB), (2, 10), generator=g)
    chunk = torch.randint(0, len(VOCAB), (2, 4), generator=g)
    with torch.no_grad():
        _, past = model.forward_cached(ids, torch.arange(10).expand(2, 10), model.empty_cache(2))
        logits, torch_presents = model.forward_cached(chunk, torch.arange(10, 14).expand(2, 4), past)
    sess = session(path)
    feeds = {"input_ids": ids.numpy(), "position_ids": np.tile(np.arange(10), (2, 1)), **empty_past(meta, 2)}
    out = sess.run(None, feeds)
    feeds = {
        "input_ids": chunk.numpy(),
        "position_ids": np.tile(np.arange(10, 14), (2, 1)),
        "all_positions": np.array(False),
    }
    feeds.update(zip(meta["inputs"][2:], presents(meta, out), strict=True))
    out = sess.run(None, feeds)
    assert out[0].shape == (2, len(VOCAB))
    assert np.abs(out[0] - logits.numpy()).max() <= TOL
    # PyTorch's (batch, n_head, seq, head_dim) is the export's (batch, seq, n_embd)
    flat = [t.transpose(1, 2).reshape(2, 14, 32).numpy() for kv in torch_presents for t in kv]
    got = presents(meta, out)
    assert all(o.shape == (2, 14, 32) for o in got)
    assert max(float(np.abs(o - t).max()) for o, t in zip(got, flat, strict=True)) <= TOL
    # new_* are the chunk's part of present_*
    new = out[1 + len(got) : 1 + 2 * len(got)]
    assert len(new) == len(got) and all(n.shape == (2, 4, 32) for n in new)
    assert all(np.array_equal(n, p[:, -4:]) for n, p in zip(new, got, strict=True))


def test_all_positions_logits_and_losses_match_pytorch(exported):
    """all_logits with all_positions: every position's logits, after a prefill and after a
    past, and the per-token losses from them are PyTorch's cross-entropy; without the flag it
    is the last position's logits."""
    model, path, meta = exported
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(0, len(VOCAB), (2, 40), generator=g)
    with torch.no_grad():
        expected = model(ids, ids)[0][..., : len(VOCAB)]
    sess = session(path)
    feeds = {"input_ids": ids.numpy(), "position_ids": np.tile(np.arange(40), (2, 1)), **empty_past(meta, 2)}
    every, last = sess.run(["all_logits", "logits"], {**feeds, "all_positions": np.array(True)})
    assert every.shape == (2, 40, len(VOCAB))
    assert np.abs(every - expected.numpy()).max() <= TOL
    # the loss of predicting token t+1 from position t, as a scorer computes it (float64)
    x = every[:, :-1].astype(np.float64)
    log_probs = x - x.max(-1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(-1, keepdims=True))
    losses = -np.take_along_axis(log_probs, ids[:, 1:, None].numpy(), -1)[..., 0]
    torch_losses = torch.nn.functional.cross_entropy(
        expected[:, :-1].reshape(-1, len(VOCAB)), ids[:, 1:].reshape(-1), reduction="none"
    )
    assert np.abs(losses.reshape(-1) - torch_losses.numpy()).max() <= TOL
    # after a past of 30 positions: the 10 new positions' logits
    out = sess.run(
        None,
        {
            **{k: v[:, :30] for k, v in feeds.items() if k in ("input_ids", "position_ids")},
            **empty_past(meta, 2),
        },
    )
    chunk = {"input_ids": ids[:, 30:].numpy(), "position_ids": np.tile(np.arange(30, 40), (2, 1))}
    chunk.update(zip(meta["inputs"][2:], presents(meta, out), strict=True))
    (tail,) = sess.run(["all_logits"], {**chunk, "all_positions": np.array(True)})
    assert np.abs(tail - expected[:, 30:].numpy()).max() <= TOL
    # the flag false: the last position only, what generation gets
    (default,) = sess.run(["all_logits"], feeds)
    assert default.shape == (2, 1, len(VOCAB)) and np.array_equal(default[:, 0], last)
    assert meta["flag_inputs"] == ["all_positions"] and meta["outputs"][-1] == "all_logits"


def test_graph_io_and_dynamic_axes(exported):
    model, path, meta = exported
    sess = session(path)
    inputs = {i.name: i for i in sess.get_inputs()}
    outputs = {o.name: o for o in sess.get_outputs()}
    assert list(inputs) == meta["inputs"] + meta["flag_inputs"] and list(outputs) == meta["outputs"]
    assert inputs["all_positions"].type == "tensor(bool)" and inputs["all_positions"].shape == []
    assert outputs["all_logits"].shape == ["batch", "rows", len(VOCAB)]
    assert inputs["input_ids"].type == "tensor(int64)" and inputs["input_ids"].shape == ["batch", "seq"]
    assert inputs["position_ids"].shape == ["batch", "seq"]
    assert inputs["past_key_0"].shape == ["batch", "past", 32]
    assert outputs["logits"].shape == ["batch", len(VOCAB)]
    assert outputs["present_value_1"].shape == ["batch", "total", 32]
    assert outputs["new_key_1"].shape == ["batch", "seq", 32]
    assert len(meta["inputs"]) == 2 + 2 * model.config.n_layer


def test_model_json_describes_the_model(exported):
    model, path, meta = exported
    c = model.config
    assert meta["format"] == "wordplay-model" and meta["onnx"] == "model.onnx"
    assert meta["tokenizer"] == CHAR
    assert meta["block_size"] == c.block_size == meta["architecture"]["block_size"]
    assert meta["vocab_size"] == len(VOCAB) == meta["architecture"]["vocab_size"]
    assert meta["architecture"]["n_layer"] == c.n_layer and meta["architecture"]["bias"] == c.bias
    assert (meta["architecture"]["position"], meta["architecture"]["mlp"]) == (c.position, c.mlp)
    assert (meta["iter"], meta["val_loss"], meta["best_val_loss"]) == (120, 1.5, 1.4)
    assert meta["kv_cache"]["head_dim"] == c.n_embd // c.n_head
    assert meta["kv_cache"]["layout"] == "batch,seq,n_embd" and meta["kv_cache"]["width"] == c.n_embd
    # no temporary files left behind
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.json", "model.onnx"]


@pytest.mark.parametrize("options", [{}, MUON_RECIPE["model"]], ids=["gpt2", "default-recipe"])
def test_int8_copy_is_smaller_and_close(tmp_path, options):
    model = tiny_model(block_size=32, **options)
    messages: list[str] = []
    ex.export_model(model, tmp_path, CHAR, quantize="int8", log=messages.append)
    meta = json.loads((tmp_path / "model.json").read_text())
    int8 = tmp_path / "model.int8.onnx"
    assert meta["quantized"]["int8"]["onnx"] == "model.int8.onnx"
    assert any("tokens/s" in m and "smaller" in m for m in messages)
    prompt = np.array([[1, 2, 3, 4, 5]], np.int64)
    steps = np.array([[6, 7, 8]], np.int64)
    fp32 = run_steps(session(tmp_path / "model.onnx"), meta, prompt, steps)
    q = run_steps(session(int8), meta, prompt, steps)
    # int8 is an approximation: close, not equal
    assert max(float(np.abs(a - b).max()) for a, b in zip(fp32, q, strict=True)) < 0.5
    # exporting again without --quantize removes the now stale copy
    ex.export_model(model, tmp_path, CHAR, log=lambda _m: None)
    assert not int8.exists()


def test_hugging_face_gpt2_folder_gives_transformers_logits(tmp_path):
    from wordplay_trainer.train.gpt2_weights import from_pretrained

    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=100, n_positions=32, n_embd=32, n_layer=2, n_head=4)
    hf = transformers.GPT2LMHeadModel(config).eval()
    with torch.no_grad():  # jitter, so the comparison is not between near-uniform logits
        for p in hf.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    hf.save_pretrained(tmp_path / "hf")
    model = from_pretrained(str(tmp_path / "hf"))
    path = ex.export_model(model, tmp_path / "out", {"type": "gpt2"}, log=lambda _m: None)
    meta = json.loads((tmp_path / "out" / "model.json").read_text())
    assert meta["vocab_size"] == 100 and meta["architecture"]["bias"] is True
    ids = torch.randint(0, 100, (1, 20), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = hf(ids).logits[0].numpy()  # every position's logits, in one pass
    got = run_steps(session(path), meta, ids[:, :5].numpy(), ids[:, 5:].numpy())
    # after the prefill of 5 tokens the logits predict token 6, and so on
    worst = max(float(np.abs(got[i] - expected[4 + i]).max()) for i in range(len(got)))
    assert worst <= TOL, f"max abs difference {worst}"


def _write_run(run_dir: Path, model, tokenizer: dict | None) -> Path:
    from wordplay_trainer.run.rundir import RunDir
    from wordplay_trainer.train.checkpoint import save_checkpoint

    state = {"iteration": 7, "best_val_loss": 2.0, "val_loss": 2.1}
    if tokenizer is not None:
        state["tokenizer"] = tokenizer
    save_checkpoint(RunDir(run_dir), model, None, state)
    return run_dir


def test_export_run_reads_the_checkpoint(tmp_path):
    model = tiny_model(block_size=32)
    run_dir = _write_run(tmp_path / "run", model, CHAR)
    path = ex.export_run(run_dir)
    assert path == run_dir / "model.onnx"
    meta = json.loads((run_dir / "model.json").read_text())
    assert (meta["iter"], meta["val_loss"]) == (7, 2.1)
    prompt = [1, 2, 3]
    got = run_steps(session(path), meta, np.array([prompt], np.int64), np.array([[4, 5]], np.int64))
    expected = reference(model, prompt, [4, 5])
    assert max(float(np.abs(g[0] - np.array(e)).max()) for g, e in zip(got, expected, strict=True)) <= TOL


def test_cli_exports_a_run(tmp_path):
    """`python -m wordplay_trainer export` as its own process, as the extension runs it."""
    run_dir = _write_run(tmp_path / "run", tiny_model(block_size=32), CHAR)
    result = subprocess.run(
        [sys.executable, "-m", "wordplay_trainer", "export", "--run", str(run_dir)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(TRAINER_DIR), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(run_dir / "model.onnx")
    assert (run_dir / "model.onnx").is_file() and (run_dir / "model.json").is_file()


# the command's refusals, in this process: the exit code and the message naming what to fix


def test_cli_missing_run_dir_is_a_clear_error(tmp_path, capsys):
    assert export_command.main(["--run", str(tmp_path / "nope")]) == 1
    assert "nope" in capsys.readouterr().err


def test_cli_run_without_checkpoint_is_a_clear_error(tmp_path, capsys):
    assert export_command.main(["--run", str(tmp_path)]) == 1
    assert "checkpoint" in capsys.readouterr().err


def test_cli_unknown_quantization_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        export_command.main(["--run", str(tmp_path), "--quantize", "int4"])
    assert exited.value.code == 2 and "int4" in capsys.readouterr().err


def test_run_without_tokenizer_is_refused(tmp_path):
    run_dir = _write_run(tmp_path / "run", tiny_model(block_size=32), None)
    with pytest.raises(ValueError, match="tokenizer"):
        ex.export_run(run_dir)
    assert not (run_dir / "model.onnx").exists()


def test_tokenizer_that_disagrees_with_the_model_is_refused(tmp_path):
    with pytest.raises(ValueError, match="vocab_size"):
        ex.export_model(tiny_model(block_size=32), tmp_path, {"type": "char", "vocab": ["a", "b"]})
    with pytest.raises(ValueError, match="tokenizer"):
        ex.export_model(tiny_model(block_size=32), tmp_path, {"type": "bpe"})
    with pytest.raises(ValueError, match="int4"):
        ex.export_model(tiny_model(block_size=32), tmp_path, CHAR, quantize="int4")
    assert not any(tmp_path.iterdir())
