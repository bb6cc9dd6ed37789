"""model.onnx + model.json: the completion model written from a GPT (export_model) or from a
run's checkpoint (export_run, which the train command calls when training ends or is stopped,
and `python -m wordplay_trainer export --run <dir>` runs), with an int8 copy on request.

model.onnx is onnx_graph.py's graph. `model.json` beside it describes the model (its format and
version from schemas/model.json; the architecture, tokenizer, block size, the iteration and
validation loss it came from, the input/output names and the KV layout), so model.onnx +
model.json are all a reader needs. Each file is replaced whole (common/files.py), model.json
last: a reader never sees a new model.json with an old model.onnx.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from ..common.files import replacing, write_atomic
from ..prepare.dataset import tokenizer_kind, tokenizer_vocab_size
from ..run.rundir import MODEL_JSON_FILE, ONNX_FILE, ONNX_INT8_FILE, STATE_FILE, RunDir
from ..train.checkpoint import OPTION_ARGS, load_model
from ..train.model import GPT
from .onnx_graph import (
    ALL_LOGITS,
    ALL_POSITIONS,
    INPUT_IDS,
    LOGITS,
    MODEL,
    NEW_KEY,
    NEW_VALUE,
    PAST_KEY,
    PAST_VALUE,
    POSITION_IDS,
    PRESENT_KEY,
    PRESENT_VALUE,
    build_onnx,
    new_names,
    past_names,
    present_names,
)

FORMAT = MODEL["format"]
FORMAT_VERSION = MODEL["version"]


def _save_onnx(proto: onnx.ModelProto, path: Path) -> None:
    """Saves to a temporary name in the same folder, then renames: readers see the old file or
    the new one. Past 2 GB (GPT-2 large/xl) the weights go to `model.onnx.data` beside it."""
    data_name = path.name + ".data"
    tmp_data = path.parent / f".{data_name}.tmp"
    with replacing(path) as tmp:
        if _small_enough(proto):
            onnx.save_model(proto, tmp)
            return
        try:
            onnx.save_model(proto, tmp, save_as_external_data=True, location=tmp_data.name)
            os.replace(tmp_data, path.parent / data_name)
        finally:
            tmp_data.unlink(missing_ok=True)
        # the graph names its data file: point it at the final name
        fixed = onnx.load(tmp, load_external_data=False)
        for t in fixed.graph.initializer:
            for entry in t.external_data:
                if entry.key == "location":
                    entry.value = data_name
        onnx.save_model(fixed, tmp)


def _small_enough(proto: onnx.ModelProto) -> bool:
    """Whether protobuf can serialise the model in one piece (its limit is 2 GB)."""
    return sum(t.ByteSize() for t in proto.graph.initializer) < 1_800_000_000


def _export_onnx(model: GPT, path: Path) -> None:
    with torch.no_grad():
        proto = build_onnx(model.eval())
    _save_onnx(proto, path)


def _quantize_int8(src: Path, dst: Path) -> None:
    """Dynamic int8 quantization of every MatMul weight (per output channel); activations are
    quantized on the fly. Embeddings, LayerNorms and attention stay fp32."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer suggests a pre-processing step that does not apply
    try:
        with replacing(dst) as tmp:
            quantize_dynamic(
                str(src),
                tmp,
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
                # the head's weight is computed from the embedding (Slice + Transpose): keep it fp32
                nodes_to_exclude=[LOGITS, "every_logits"],
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
    finally:
        root.setLevel(level)


def _tokens_per_s(path: Path, meta: dict[str, Any], steps: int = 64) -> float:
    """Incremental decoding speed of one ONNX file with onnxruntime: a rough figure for the
    report, one sequence after an 8-token prompt."""
    from .onnx_run import cached_steps, open_session  # onnxruntime, loaded only to quantise

    steps = min(steps, meta["block_size"] - 8)
    run = cached_steps(open_session(path), meta, np.zeros((1, 8), np.int64), np.ones((1, steps), np.int64))
    next(run)  # the prefill, not timed
    start = time.perf_counter()
    for _ in run:
        pass
    return steps / (time.perf_counter() - start)


def model_metadata(model: GPT, state: dict[str, Any] | None, tokenizer: dict[str, Any]) -> dict[str, Any]:
    c = model.config
    state = state or {}
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "onnx": ONNX_FILE,
        "architecture": {
            "type": "gpt2",
            "n_layer": c.n_layer,
            "n_head": c.n_head,
            "n_embd": c.n_embd,
            "block_size": c.block_size,
            "vocab_size": c.vocab_size,
            "padded_vocab_size": c.padded_vocab_size,
            "bias": c.bias,
            # the options, the shapes Llama / Qwen weights bring among them (n_kv_head, head_dim, ...)
            **{k: getattr(c, k) for k in OPTION_ARGS},
        },
        "block_size": c.block_size,
        "vocab_size": c.vocab_size,
        "tokenizer": tokenizer,
        # the trainer's state.json says "iteration"; "iter" is nanoGPT's name
        "iter": state.get("iteration", state.get("iter")),
        "val_loss": state.get("val_loss"),
        "best_val_loss": state.get("best_val_loss"),
        # the weights' source when they were exported as they are, untrained (export --from)
        **({"pretrained": state["pretrained"]} if "pretrained" in state else {}),
        "inputs": [INPUT_IDS, POSITION_IDS, *past_names(c.n_layer)],
        "outputs": [LOGITS, *present_names(c.n_layer), *new_names(c.n_layer), ALL_LOGITS],
        # bool inputs besides `inputs`, false for generation: all_positions true makes
        # all_logits every new position's logits
        "flag_inputs": [ALL_POSITIONS],
        "kv_cache": {
            # (batch, seq, n_kv_head * head_dim): key/value head h at columns h*head_dim ..
            # (h+1)*head_dim - 1; n_head is the query heads, which share them (grouped-query
            # attention) when n_kv_head is fewer. A model.json without n_kv_head has n_head.
            "layout": "batch,seq,n_embd",
            "dtype": "float32",
            "n_layer": c.n_layer,
            "n_head": c.n_head,
            "n_kv_head": c.n_kv_head,
            "head_dim": c.head_dim,
            "width": c.n_kv_head * c.head_dim,
            "past_inputs": f"{PAST_KEY}<layer>, {PAST_VALUE}<layer>",
            "present_outputs": f"{PRESENT_KEY}<layer>, {PRESENT_VALUE}<layer> (past + new)",
            "new_outputs": f"{NEW_KEY}<layer>, {NEW_VALUE}<layer> (the new tokens only)",
        },
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "torch_version": torch.__version__,
    }


def export_model(
    model: GPT,
    out_dir: Path,
    tokenizer: dict[str, Any],
    state: dict[str, Any] | None = None,
    quantize: str | None = None,
    log=None,
) -> Path:
    """Writes model.onnx (+ model.int8.onnx) and model.json into out_dir; returns model.onnx's path."""
    if quantize not in (None, "int8"):
        raise ValueError(f'unknown quantization "{quantize}": only "int8" is supported')
    kind = tokenizer_kind(tokenizer)
    tokens = tokenizer_vocab_size(tokenizer)
    # a model folder's embedding may have rows past its tokenizer's ids (Qwen pads 151,669 to
    # 151,936), as completion's model.json check allows (src/core/complete/modelFiles.ts)
    if kind != "gpt2" and (
        tokens > model.config.vocab_size if kind == "hf" else tokens != model.config.vocab_size
    ):
        raise ValueError(
            f"the {kind} tokenizer has {tokens} tokens but the model's vocab_size is "
            f"{model.config.vocab_size}"
        )
    log = log or (lambda msg: print(msg, file=sys.stderr))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = model.to("cpu", dtype=torch.float32).eval()
    onnx_path = out_dir / ONNX_FILE
    meta = model_metadata(model, state, tokenizer)
    # model.json goes first away: a reader never sees a new model.json with an old model.onnx
    (out_dir / MODEL_JSON_FILE).unlink(missing_ok=True)
    _export_onnx(model, onnx_path)
    log(f"wrote {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB)")
    if quantize is None:
        (out_dir / ONNX_INT8_FILE).unlink(missing_ok=True)  # a quantised copy of an older model
    if quantize == "int8":
        int8_path = out_dir / ONNX_INT8_FILE
        _quantize_int8(onnx_path, int8_path)
        fp32_mb, int8_mb = onnx_path.stat().st_size / 1e6, int8_path.stat().st_size / 1e6
        fp32_tps, int8_tps = _tokens_per_s(onnx_path, meta), _tokens_per_s(int8_path, meta)
        meta["quantized"] = {"int8": {"onnx": ONNX_INT8_FILE, "bytes": int8_path.stat().st_size}}
        log(
            f"wrote {int8_path}: {int8_mb:.1f} MB vs {fp32_mb:.1f} MB fp32 "
            f"({fp32_mb / int8_mb:.1f}x smaller); {int8_tps:.0f} vs {fp32_tps:.0f} tokens/s fp32 "
            "(onnxruntime, one sequence, incremental)"
        )
    write_atomic(out_dir / MODEL_JSON_FILE, json.dumps(meta, indent=2) + "\n")
    return onnx_path


def export_run(run_dir: Path, quantize: str | None = None) -> Path:
    """Exports a run's checkpoint to model.onnx + model.json in the run dir; returns model.onnx."""
    run_dir = Path(run_dir)
    model, state = load_model(run_dir, device="cpu")
    tokenizer = state.get("tokenizer")
    if not isinstance(tokenizer, dict):
        raise ValueError(f"{RunDir(run_dir).checkpoint / STATE_FILE} holds no tokenizer")
    return export_model(model, run_dir, tokenizer, state, quantize)
