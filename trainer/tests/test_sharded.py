"""Issue 18 part 3: sharded training, distributed.backend fsdp and deepspeed (ZeRO 1-3), as real
torchrun processes on the CPU (gloo), each against one DDP reference run of the same tiny model:
the same train loss at every iteration, whole checkpoints in the one contract (the names and
shapes DDP writes), resume under another backend or process count, export to ONNX.

The schedule's decay ends at optimizer.lr_decay_iters (60), not at max_iters, so a run stopped at
iteration 20 and resumed to 30 follows the reference's learning rates: a resumed run must match
the reference at every iteration too, which holds only if the weights, the optimizer's moments
and step count and the data order all came back whole.

Tolerance: 1e-4 relative. Every backend sums the same float32 gradients of two processes, so the
losses agree to float32 rounding (measured: identical); 1e-4 leaves room for a reduction order
that differs in the last bits over 50 Adam steps, yet is a hundred times below what a wrong
gradient scale, accumulation, clipping or learning rate would change in one step.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from conftest import by_type, last_error, needs_torchrun, read_events, run_trainer, torchrun
from safetensors.torch import load_file

from wordplay_trainer.export.onnx_model import export_run
from wordplay_trainer.train import checkpoint as ckpt

HAS_DEEPSPEED = importlib.util.find_spec("deepspeed") is not None
RTOL = 1e-4

needs_deepspeed = pytest.mark.skipif(
    not HAS_DEEPSPEED, reason="DeepSpeed is not installed (`wordplay setup --deepspeed` installs it)"
)


def losses(run_dir: Path) -> dict[int, float]:
    """Train loss by iteration, over every launch that wrote to the run dir."""
    return {e["iter"]: e["loss"] for e in by_type(read_events(run_dir), "train")}


@pytest.fixture(scope="module")
def reference(ddp_reference) -> tuple[Path, dict[int, float]]:
    """DDP on two processes, iterations 1-60 (conftest's, shared with test_processes.py)."""
    run_dir = ddp_reference
    assert by_type(read_events(run_dir), "start")[0]["world_size"] == 2
    return run_dir, losses(run_dir)


def assert_parity(run_dir: Path, reference: dict[int, float], iters: range) -> None:
    got = losses(run_dir)
    assert sorted(got) == list(iters)
    a = np.array([got[i] for i in iters])
    b = np.array([reference[i] for i in iters])
    assert np.allclose(a, b, rtol=RTOL, atol=0), f"max relative difference {np.max(np.abs(a - b) / b):.2e}"


def tensor_shapes(file: Path) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    return {k: (tuple(v.shape), v.dtype) for k, v in load_file(str(file)).items()}


def assert_checkpoint_like(run_dir: Path, reference_dir: Path) -> None:
    """The checkpoint DDP writes: the same tensors, by name, shape and dtype, and the same
    optimizer structure; whole, so it loads into a plain model."""
    ours, theirs = run_dir / "checkpoint", reference_dir / "checkpoint"
    for name in ("model.safetensors", "optimizer.safetensors"):
        assert tensor_shapes(ours / name) == tensor_shapes(theirs / name), name
    groups = [json.loads((d / "optimizer.json").read_text())["param_groups"] for d in (ours, theirs)]
    assert [g["params"] for g in groups[0]] == [g["params"] for g in groups[1]]
    assert [g["weight_decay"] for g in groups[0]] == [g["weight_decay"] for g in groups[1]]
    states = [json.loads((d / "state.json").read_text()) for d in (ours, theirs)]
    assert states[0]["model_args"] == states[1]["model_args"]
    assert len(states[0]["rng"]) == 2  # both processes' RNG states
    ckpt.load_model(run_dir)


def assert_exports(run_dir: Path) -> None:
    """model.onnx from the checkpoint completes as the checkpoint's PyTorch model does."""
    path = export_run(run_dir)
    meta = json.loads((run_dir / "model.json").read_text())
    model, _ = ckpt.load_model(run_dir)
    prompt = np.array([[1, 2, 3, 4]], dtype=np.int64)
    empty = np.zeros((1, 0, meta["kv_cache"]["width"]), np.float32)
    feeds = {
        "input_ids": prompt,
        "position_ids": np.arange(4)[None],
        "all_positions": np.array(False),
        **dict.fromkeys(meta["inputs"][2:], empty),
    }
    onnx_logits = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    with torch.no_grad():
        torch_logits, _ = model(torch.from_numpy(prompt))
    vocab = meta["vocab_size"]
    assert np.allclose(onnx_logits[0, :vocab], torch_logits[0, -1, :vocab].numpy(), atol=1e-4)


@needs_torchrun
def test_fsdp_matches_ddp_and_resumes_anywhere(sharded_config, reference, tmp_path):
    reference_dir, reference_losses = reference
    run_dir = tmp_path / "run"
    torchrun(sharded_config, run_dir, "distributed.backend=fsdp", "train.max_iters=50")
    assert_parity(run_dir, reference_losses, range(1, 51))
    assert_checkpoint_like(run_dir, reference_dir)
    assert_exports(run_dir)
    # on one process without sharding, then back on two with fsdp (its own loading)
    assert run_trainer(sharded_config, run_dir, "train.init_from=resume", "train.max_iters=55") == 0
    torchrun(sharded_config, run_dir, "distributed.backend=fsdp", "train.init_from=resume")
    assert_parity(run_dir, reference_losses, range(1, 61))
    assert [e["iter"] for e in by_type(read_events(run_dir), "start")] == [0, 50, 55]


@needs_torchrun
@needs_deepspeed
@pytest.mark.parametrize(
    "stage, resume_sets, resume_processes",
    [
        (1, ["distributed.backend=deepspeed", "distributed.zero_stage=2"], 2),  # ZeRO 1-2's loading
        (2, [], 1),  # another backend and process count
        (3, ["distributed.backend=deepspeed", "distributed.zero_stage=3"], 2),  # ZeRO-3's loading
    ],
    ids=["zero1", "zero2", "zero3"],
)
def test_deepspeed_matches_ddp_and_resumes(
    sharded_config, reference, tmp_path, stage, resume_sets, resume_processes
):
    """20 iterations under ZeRO, then 10 resumed: fewer than FSDP's 50, as each DeepSpeed start
    costs seconds here; every iteration still matches the reference."""
    reference_dir, reference_losses = reference
    run_dir = tmp_path / "run"
    torchrun(
        sharded_config,
        run_dir,
        "distributed.backend=deepspeed",
        f"distributed.zero_stage={stage}",
        "train.max_iters=20",
    )
    assert_parity(run_dir, reference_losses, range(1, 21))
    assert_checkpoint_like(run_dir, reference_dir)
    assert_exports(run_dir)
    resume = ["train.init_from=resume", "train.max_iters=30", *resume_sets]
    if resume_processes == 2:
        torchrun(sharded_config, run_dir, *resume)
    else:
        assert run_trainer(sharded_config, run_dir, *resume) == 0
    assert_parity(run_dir, reference_losses, range(1, 31))


def test_missing_deepspeed_says_how_to_install(sharded_config, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "deepspeed", None)  # its import fails, installed or not
    assert (
        run_trainer(sharded_config, tmp_path / "run", "distributed.backend=deepspeed", "train.max_iters=2")
        == 1
    )
    error = last_error(tmp_path / "run")
    assert error["key"] == "distributed.backend"
    assert "wordplay setup --deepspeed" in error["message"] and "pip install deepspeed==" in error["message"]
    assert not (tmp_path / "run" / "checkpoint").exists()


def test_zero_stage_0_is_refused(sharded_config, tmp_path):
    sets = ["distributed.backend=deepspeed", "distributed.zero_stage=0", "train.max_iters=2"]
    assert run_trainer(sharded_config, tmp_path / "run", *sets) == 1
    error = last_error(tmp_path / "run")
    assert error["key"] == "distributed.zero_stage" and "backend ddp" in error["message"]
