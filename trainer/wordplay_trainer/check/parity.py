"""The GPU check's export step: the run's exported model.onnx, run by onnxruntime as completion
runs it (export/onnx_run.py), against the checkpoint's model in PyTorch, on the same tokens.
trainer/tests/test_export.py holds every architecture to the same parity on tiny models; this
holds the model the check trained, at its real size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..prepare.dataset import Dataset
from ..run.rundir import RunDir
from ..train.checkpoint import load_model
from .harness import StepFailed

# test_export.py holds exports of logits about 1 in size to 1e-4; float32 rounding grows with
# the logits (a trained model's reach 10-30), so here the bound scales with them
PARITY_TOL = 1e-4


@torch.no_grad()
def onnx_parity(run: Path, dataset: Path) -> dict:
    """The exported model.onnx (onnxruntime, CPU) against the checkpoint's model (PyTorch, CPU,
    float32) on the same val tokens: a prefill of half the block, then a quarter block of
    single-token steps through the KV cache; the largest logit difference over all of them,
    within PARITY_TOL of the largest logit (of 1 at least)."""
    # here, not at the top: without onnx or onnxruntime this step fails, the others still run
    from ..export.onnx_run import cached_steps, open_session

    model, _ = load_model(run, "cpu")
    meta = json.loads(RunDir(run).model_json.read_text(encoding="utf-8"))
    block = model.config.block_size
    n, steps = block // 2, block // 4
    tokens = np.asarray(Dataset(dataset).splits["val"][: n + steps], dtype=np.int64)

    logits, past = model.forward_cached(
        torch.from_numpy(tokens[None, :n]), torch.arange(n)[None, :], model.empty_cache(1)
    )
    expected = [logits[0].numpy()]
    for i in range(steps):
        logits, past = model.forward_cached(
            torch.from_numpy(tokens[None, n + i : n + i + 1]), torch.tensor([[n + i]]), past
        )
        expected.append(logits[0].numpy())

    onnx_file = RunDir(run).root / meta["onnx"]
    session = open_session(onnx_file)
    got = [logits[0] for logits in cached_steps(session, meta, tokens[None, :n], tokens[None, n:])]

    diffs = [float(np.abs(g - e).max()) for g, e in zip(got, expected, strict=True)]
    largest = max(float(np.abs(e).max()) for e in expected)
    figures = {
        "max_abs_diff": max(diffs),
        "max_abs_logit": largest,
        "tolerance": PARITY_TOL * max(1.0, largest),
        "positions": len(diffs),
        "prompt_tokens": n,
        "top1_agreement": float(
            np.mean([g.argmax() == e.argmax() for g, e in zip(got, expected, strict=True)])
        ),
        "onnx_bytes": onnx_file.stat().st_size,
    }
    if not figures["max_abs_diff"] <= figures["tolerance"]:
        raise StepFailed(
            f"onnxruntime's logits differ from PyTorch's by up to {figures['max_abs_diff']:.2e}, over the "
            f"tolerance {figures['tolerance']:.2e}: the export of this model is wrong "
            "(trainer/wordplay_trainer/export/onnx_graph.py)",
            **figures,
        )
    return figures
