"""ONNX export: the handoff from PyTorch to the TypeScript generation engine.

`model.onnx` runs one step of `GPT.forward_cached`:

    inputs   input_ids        int64   (batch, seq)
             position_ids     int64   (batch, seq)        absolute positions past .. past+seq-1
             past_key_<i>     float32 (batch, past, n_embd)      one pair per layer i
             past_value_<i>   float32 (batch, past, n_embd)
             all_positions    bool    ()   what all_logits holds; generation feeds false
    outputs  logits           float32 (batch, vocab_size)  last position, real vocabulary only
             present_key_<i>  float32 (batch, past + seq, n_embd)   past and new, concatenated
             present_value_<i>
             new_key_<i>      float32 (batch, seq, n_embd)  the new tokens' part of present_*
             new_value_<i>
             all_logits       float32 (batch, seq, vocab_size)  every new position's logits when
                              all_positions is true, else (batch, 1, vocab_size): the last one's

so a prompt is prefilled once (past = 0) and every later token costs one position. Batch,
sequence and past lengths are dynamic. The keys/values are sequence-major, the heads side by
side in the last axis (head h at columns h*head_dim ..): (batch, seq, n_head, head_dim) viewed
as (batch, seq, n_embd), i.e. PyTorch's (batch, n_head, seq, head_dim) transposed. A reader may
feed present_* back as the next past_*, or, as the TypeScript engine does, fetch only new_* and
append them to a buffer of its own: the past is then a prefix of that buffer (no re-layout as
it grows), and each step moves a few kilobytes out of onnxruntime instead of the whole cache.
`all_logits` is for scoring a text (the editor's Model Surprise). It sits in an If on
all_positions because onnxruntime runs every node of the graph whatever outputs are fetched
(measured: its profile lists the nodes of unrequested outputs): generation feeds false and pays
the If and one Unsqueeze of the last logits (a few percent of a decode step at most, measured
on the shakespeare-char-cpu shape). The flag is a plain input, not one with a default value:
onnxruntime-node cannot feed an input that has an initializer.

`model.json` beside it describes the model (architecture, tokenizer, block size, the iteration
and validation loss it came from, the input/output names and the KV layout), so model.onnx +
model.json are all a reader needs.

`python -m wordplay_trainer export --run <dir> [--quantize int8]` (and `--format hf|gguf --out`,
`--from <gpt2 name | folder>`: hf_export.py, gguf_export.py, pretrained.py); the trainer calls
`export_run(run_dir)` when training ends or is stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

from .checkpoint import OPTION_ARGS, load_model
from .data import tokenizer_kind, tokenizer_vocab_size
from .errors import TrainerError
from .model import GPT, NORM_EPS, rope_angles
from .rundir import RUN_FILES, STATE_FILE, RunDir

FORMAT = "wordplay-model"
FORMAT_VERSION = 1
OPSET = 17
IR_VERSION = 8  # onnxruntime 1.23 (Python) reads IR <= 11; 8 is what opset 17 needs
MODEL_FILE = RUN_FILES["onnx"]
INT8_FILE = RUN_FILES["onnx_int8"]
META_FILE = RUN_FILES["model_json"]

INPUT_IDS = "input_ids"
POSITION_IDS = "position_ids"
LOGITS = "logits"
ALL_LOGITS = "all_logits"
ALL_POSITIONS = "all_positions"
# what `export --format` writes: model.onnx + model.json, a Hugging Face folder, a GGUF file
FORMATS = ("onnx", "hf", "gguf")


def past_names(n_layer: int) -> list[str]:
    return [f"past_{kv}_{i}" for i in range(n_layer) for kv in ("key", "value")]


def present_names(n_layer: int) -> list[str]:
    return [f"present_{kv}_{i}" for i in range(n_layer) for kv in ("key", "value")]


def new_names(n_layer: int) -> list[str]:
    return [f"new_{kv}_{i}" for i in range(n_layer) for kv in ("key", "value")]


def _block_weights(sd: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray | None]:
    """One block's tensors, Linear weights transposed to (in, out) for MatMul; None: absent
    (no bias, no gate, no QK-norm)."""
    norms = ["ln_1", "ln_2", "attn.q_norm", "attn.k_norm"]
    linears = ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_gate", "mlp.c_proj"]
    out: dict[str, np.ndarray | None] = {}
    for n in norms + linears:
        w = sd.get(f"{prefix}{n}.weight")
        out[f"{n}.weight"] = w if n in norms or w is None else np.ascontiguousarray(w.T)
        out[f"{n}.bias"] = sd.get(f"{prefix}{n}.bias")
    return out


def build_onnx(model: GPT) -> onnx.ModelProto:
    """The graph of `GPT.forward_cached`, written node by node from the model's weights.

    Why not torch.onnx.export: the TorchScript exporter turns each attention into ~60 small ops
    (shape arithmetic, mask building, transposes, concats), and per-op overhead is what a
    one-token step pays for. Here each layer is LayerNormalization, MatMul, Split, two Concats
    (past + new keys/values), onnxruntime's fused MultiHeadAttention (com.microsoft) with a
    causal bias built once per step for all layers, MatMul, Add, LayerNormalization, MatMul,
    FastGelu (GPT-2's tanh GELU), MatMul, Add: about 1.5x faster per token than the TorchScript
    export on a 2-core CPU, and its MatMuls are what int8 quantization replaces. The tests hold
    it to PyTorch's logits within 1e-4, for every architecture option.

    The options map onto onnxruntime's own fused ops where it has one: rmsnorm is
    SimplifiedLayerNormalization (also per head, for QK-norm, between two Reshapes); rope is
    RotaryEmbedding (com.microsoft) fed the position_ids input, so the cache's offset is just
    the positions given; relu2 is Relu and Mul, swiglu Sigmoid, Mul and Mul; an untied head
    is a MatMul by its own (n_embd, vocab_size) matrix.
    """
    c = model.config
    C, N, D = c.n_embd, c.n_head, c.head_dim
    sd = {k: v.detach().to("cpu", torch.float32).numpy() for k, v in model.state_dict().items()}
    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def init(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str | list[str], domain: str = "", **attrs) -> str:
        outputs = [output] if isinstance(output, str) else output
        nodes.append(helper.make_node(op, inputs, outputs, name=outputs[0], domain=domain, **attrs))
        return outputs[0]

    def linear(x: str, w: np.ndarray, b: np.ndarray | None, name: str) -> str:
        y = node("MatMul", [x, init(f"{name}.weight", w)], f"{name}.mm" if b is not None else name)
        return y if b is None else node("Add", [y, init(f"{name}.bias", b)], name)

    # LayerNormalization needs a bias input even where the model has none
    zero_bias = init("zero_bias", np.zeros(C, np.float32)) if c.norm == "layernorm" and not c.bias else ""

    def norm(x: str, w: np.ndarray, b: np.ndarray | None, name: str) -> str:
        if c.norm == "rmsnorm":
            # onnxruntime's RMSNorm (registered in the ONNX domain, as its Llama exports use it)
            return node(
                "SimplifiedLayerNormalization",
                [x, init(f"{name}.weight", w)],
                name,
                axis=-1,
                epsilon=NORM_EPS,
            )
        bias = zero_bias if b is None else init(f"{name}.bias", b)
        return node(
            "LayerNormalization", [x, init(f"{name}.weight", w), bias], name, axis=-1, epsilon=NORM_EPS
        )

    def mlp(x: str, w: dict[str, np.ndarray | None], p: str) -> str:
        """The MLP of model.mlp, its output projection included."""
        up = w["mlp.c_fc.weight"], w["mlp.c_fc.bias"]
        if c.mlp == "swiglu":
            gate = linear(x, w["mlp.c_gate.weight"], w["mlp.c_gate.bias"], f"{p}.c_gate")
            silu = node("Mul", [gate, node("Sigmoid", [gate], f"{p}.sigmoid")], f"{p}.silu")
            h = node("Mul", [silu, linear(x, *up, f"{p}.c_fc")], f"{p}.swiglu")
        elif c.mlp == "relu2":
            r = node("Relu", [linear(x, *up, f"{p}.c_fc")], f"{p}.relu")
            h = node("Mul", [r, r], f"{p}.relu2")
        else:
            # GPT-2's tanh GELU, with the c_fc bias folded into onnxruntime's fused op
            bias = [] if up[1] is None else [init(f"{p}.c_fc.bias", up[1])]
            h = node("FastGelu", [linear(x, up[0], None, f"{p}.c_fc"), *bias], f"{p}.gelu", "com.microsoft")
        return linear(h, w["mlp.c_proj.weight"], w["mlp.c_proj.bias"], f"{p}.mlp_proj")

    if c.qk_norm:
        heads_shape = init("heads_shape", np.array([0, 0, N, D], np.int64))
        width_shape = init("width_shape", np.array([0, 0, C], np.int64))

    def head_norm(x: str, w: np.ndarray, name: str) -> str:
        """QK-norm: RMSNorm over each head's head_dim columns of (batch, seq, n_embd)."""
        heads = node("Reshape", [x, heads_shape], f"{name}.heads")
        normed = node(
            "SimplifiedLayerNormalization",
            [heads, init(f"{name}.weight", w)],
            f"{name}.normed",
            axis=-1,
            epsilon=NORM_EPS,
        )
        return node("Reshape", [normed, width_shape], name)

    if c.position == "rope":
        angles = rope_angles(D, torch.arange(c.block_size)).numpy()
        cos_cache, sin_cache = init("rope_cos", np.cos(angles)), init("rope_sin", np.sin(angles))

    def rotate(x: str, name: str) -> str:
        """RoPE at the absolute positions position_ids (onnxruntime's fused op; interleaved=0 is
        the half-split pairing of model.apply_rope)."""
        if c.position != "rope":
            return x
        inputs = [x, POSITION_IDS, cos_cache, sin_cache]
        return node("RotaryEmbedding", inputs, name, domain="com.microsoft", interleaved=0, num_heads=N)

    wte = init("wte", sd["transformer.wte.weight"])
    split = init("qkv_split", np.array([C, C, C], np.int64))
    # The causal mask as an additive bias (1, 1, seq, past + seq), built once for all layers:
    # new token i sits at position past + i and sees keys 0 .. past + i.
    i64 = lambda name, v: init(name, np.array(v, np.int64))  # noqa: E731
    past_len = node("Gather", [node("Shape", ["past_key_0"], "past_shape"), i64("axis1", 1)], "past_len")
    seq_len = node("Gather", [node("Shape", [INPUT_IDS], "ids_shape"), i64("axis1b", 1)], "seq_len")
    total_len = node("Add", [past_len, seq_len], "total_len")
    one = i64("one", 1)
    query_pos = node("Range", [past_len, total_len, one], "query_pos")
    key_pos = node("Range", [i64("zero", 0), total_len, one], "key_pos")
    allowed = node(
        "LessOrEqual",
        [
            node("Unsqueeze", [key_pos, i64("axes0", [0])], "key_pos_row"),
            node("Unsqueeze", [query_pos, i64("axes1", [1])], "query_pos_col"),
        ],
        "allowed",
    )
    mask = node(
        "Where",
        [allowed, init("zero_f", np.array(0.0, np.float32)), init("neg_big", np.array(-1e9, np.float32))],
        "mask2d",
    )
    causal = node("Unsqueeze", [mask, i64("axes01", [0, 1])], "causal_bias")
    x = node("Gather", [wte, INPUT_IDS], "tok_emb")
    if c.position == "learned":
        pos = node("Gather", [init("wpe", sd["transformer.wpe.weight"]), POSITION_IDS], "pos_emb")
        x = node("Add", [x, pos], "h0")
    for i in range(c.n_layer):
        w = _block_weights(sd, f"transformer.h.{i}.")
        p = f"h{i}"
        a = norm(x, w["ln_1.weight"], w["ln_1.bias"], f"{p}.ln_1")
        qkv = linear(a, w["attn.c_attn.weight"], w["attn.c_attn.bias"], f"{p}.c_attn")
        q, k, v = f"{p}.q", f"{p}.k", f"new_value_{i}"
        node("Split", [qkv, split], [q, k, v], axis=-1)
        if c.qk_norm:
            q = head_norm(q, w["attn.q_norm.weight"], f"{p}.q_norm")
            k = head_norm(k, w["attn.k_norm.weight"], f"{p}.k_norm")
        q = rotate(q, f"{p}.q_rot")
        k = node("Identity", [rotate(k, f"{p}.k_rot")], f"new_key_{i}")
        # keys/values of the past and the new tokens, (batch, past + seq, n_embd)
        keys = node("Concat", [f"past_key_{i}", k], f"present_key_{i}", axis=1)
        values = node("Concat", [f"past_value_{i}", v], f"present_value_{i}", axis=1)
        att = node(
            "MultiHeadAttention",
            [q, keys, values, "", "", causal],
            f"{p}.attn",
            domain="com.microsoft",
            num_heads=N,
        )
        x = node(
            "Add",
            [x, linear(att, w["attn.c_proj.weight"], w["attn.c_proj.bias"], f"{p}.attn_proj")],
            f"{p}.r1",
        )
        x = node("Add", [x, mlp(norm(x, w["ln_2.weight"], w["ln_2.bias"], f"{p}.ln_2"), w, p)], f"{p}.r2")
    last = node("Gather", [x, init("last_index", np.array(-1, np.int64))], "last", axis=1)
    ln_f = sd["transformer.ln_f.weight"], sd.get("transformer.ln_f.bias")
    last = norm(last, *ln_f, "ln_f")
    if c.tie_embeddings:
        # The head is the token embedding, cut to the real vocabulary: onnxruntime folds the
        # Slice + Transpose of this constant once at load, and the file holds the weights once.
        vocab = [
            init("vocab_start", np.array([0], np.int64)),
            init("vocab_end", np.array([c.vocab_size], np.int64)),
        ]
        head = node("Transpose", [node("Slice", [wte, *vocab], "head_rows")], "head_weight", perm=[1, 0])
    else:
        head = init("head_weight", np.ascontiguousarray(sd["lm_head.weight"][: c.vocab_size].T))
    node("MatMul", [last, head], LOGITS)
    # every position's logits only when all_positions asks for them (see the top of this file)
    start = len(nodes)
    node("MatMul", [norm(x, *ln_f, "ln_f_all"), head], "every_logits")
    every = nodes[start:]
    del nodes[start:]
    vocab_rows = lambda name, rows: helper.make_tensor_value_info(  # noqa: E731
        name, onnx.TensorProto.FLOAT, ["batch", rows, c.vocab_size]
    )
    node(
        "If",
        [ALL_POSITIONS],
        ALL_LOGITS,
        then_branch=helper.make_graph(every, "every_position", [], [vocab_rows("every_logits", "seq")]),
        else_branch=helper.make_graph(
            # axes1 is the [1] of the causal mask above
            [helper.make_node("Unsqueeze", [LOGITS, "axes1"], ["last_logits"])],
            "last_position",
            [],
            [vocab_rows("last_logits", 1)],
        ),
    )

    kv = ["batch", "past", C]
    inputs = [
        helper.make_tensor_value_info(INPUT_IDS, onnx.TensorProto.INT64, ["batch", "seq"]),
        helper.make_tensor_value_info(POSITION_IDS, onnx.TensorProto.INT64, ["batch", "seq"]),
        *(helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, kv) for n in past_names(c.n_layer)),
        helper.make_tensor_value_info(ALL_POSITIONS, onnx.TensorProto.BOOL, []),
    ]
    outputs = [
        helper.make_tensor_value_info(LOGITS, onnx.TensorProto.FLOAT, ["batch", c.vocab_size]),
        *(
            helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, ["batch", "total", C])
            for n in present_names(c.n_layer)
        ),
        *(
            helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, ["batch", "seq", C])
            for n in new_names(c.n_layer)
        ),
        helper.make_tensor_value_info(ALL_LOGITS, onnx.TensorProto.FLOAT, ["batch", "rows", c.vocab_size]),
    ]
    graph = helper.make_graph(nodes, "wordplay_gpt", inputs, outputs, inits)
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)],
        producer_name="wordplay",
        ir_version=IR_VERSION,
    )


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _save_onnx(proto: onnx.ModelProto, path: Path) -> None:
    """Saves to a temporary name in the same folder, then renames: readers see the old file or
    the new one. Past 2 GB (GPT-2 large/xl) the weights go to `model.onnx.data` beside it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    data_name = path.name + ".data"
    tmp_data = path.parent / f".{data_name}.tmp"
    try:
        if not _small_enough(proto):
            onnx.save_model(proto, tmp, save_as_external_data=True, location=tmp_data.name)
            os.replace(tmp_data, path.parent / data_name)
            # the graph names its data file: point it at the final name
            fixed = onnx.load(tmp, load_external_data=False)
            for t in fixed.graph.initializer:
                for entry in t.external_data:
                    if entry.key == "location":
                        entry.value = data_name
            onnx.save_model(fixed, tmp)
        else:
            onnx.save_model(proto, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        tmp_data.unlink(missing_ok=True)
        raise


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

    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp")
    os.close(fd)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer suggests a pre-processing step that does not apply
    try:
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
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        root.setLevel(level)


def _tokens_per_s(path: Path, meta: dict[str, Any], steps: int = 64) -> float:
    """Incremental decoding speed of one ONNX file with onnxruntime (1 thread per op, like
    the defaults of the generation engine on a small machine): a rough figure for the report."""
    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    a = meta["architecture"]
    feeds: dict[str, Any] = {
        INPUT_IDS: np.zeros((1, 8), dtype=np.int64),
        POSITION_IDS: np.arange(8, dtype=np.int64)[None, :],
        ALL_POSITIONS: np.array(False),
    }
    for n in past_names(a["n_layer"]):
        feeds[n] = np.zeros((1, 0, a["n_embd"]), dtype=np.float32)
    steps = min(steps, a["block_size"] - 8)
    fetch = [LOGITS, *present_names(a["n_layer"])]
    out = sess.run(fetch, feeds)
    start = time.perf_counter()
    for s in range(steps):
        feeds = {
            INPUT_IDS: np.array([[1]], dtype=np.int64),
            POSITION_IDS: np.array([[8 + s]], dtype=np.int64),
            ALL_POSITIONS: np.array(False),
        }
        feeds.update(zip(past_names(a["n_layer"]), out[1 : 1 + 2 * a["n_layer"]], strict=True))
        out = sess.run(fetch, feeds)
    return steps / (time.perf_counter() - start)


def model_metadata(model: GPT, state: dict[str, Any] | None, tokenizer: dict[str, Any]) -> dict[str, Any]:
    c = model.config
    state = state or {}
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "onnx": MODEL_FILE,
        "architecture": {
            "type": "gpt2",
            "n_layer": c.n_layer,
            "n_head": c.n_head,
            "n_embd": c.n_embd,
            "block_size": c.block_size,
            "vocab_size": c.vocab_size,
            "padded_vocab_size": c.padded_vocab_size,
            "bias": c.bias,
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
            # (batch, seq, n_head * head_dim): head h at columns h*head_dim .. (h+1)*head_dim - 1
            "layout": "batch,seq,n_embd",
            "dtype": "float32",
            "n_layer": c.n_layer,
            "n_head": c.n_head,
            "head_dim": c.n_embd // c.n_head,
            "width": c.n_embd,
            "past_inputs": "past_key_<layer>, past_value_<layer>",
            "present_outputs": "present_key_<layer>, present_value_<layer> (past + new)",
            "new_outputs": "new_key_<layer>, new_value_<layer> (the new tokens only)",
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
    if kind != "gpt2" and tokenizer_vocab_size(tokenizer) != model.config.vocab_size:
        raise ValueError(
            f"the {kind} tokenizer has {tokenizer_vocab_size(tokenizer)} tokens but the model's "
            f"vocab_size is {model.config.vocab_size}"
        )
    log = log or (lambda msg: print(msg, file=sys.stderr))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = model.to("cpu", dtype=torch.float32).eval()
    onnx_path = out_dir / MODEL_FILE
    meta = model_metadata(model, state, tokenizer)
    # model.json goes first away: a reader never sees a new model.json with an old model.onnx
    (out_dir / META_FILE).unlink(missing_ok=True)
    _export_onnx(model, onnx_path)
    log(f"wrote {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB)")
    if quantize is None:
        (out_dir / INT8_FILE).unlink(missing_ok=True)  # a quantised copy of an older model
    if quantize == "int8":
        int8_path = out_dir / INT8_FILE
        _quantize_int8(onnx_path, int8_path)
        fp32_mb, int8_mb = onnx_path.stat().st_size / 1e6, int8_path.stat().st_size / 1e6
        fp32_tps, int8_tps = _tokens_per_s(onnx_path, meta), _tokens_per_s(int8_path, meta)
        meta["quantized"] = {"int8": {"onnx": INT8_FILE, "bytes": int8_path.stat().st_size}}
        log(
            f"wrote {int8_path}: {int8_mb:.1f} MB vs {fp32_mb:.1f} MB fp32 "
            f"({fp32_mb / int8_mb:.1f}x smaller); {int8_tps:.0f} vs {fp32_tps:.0f} tokens/s fp32 "
            "(onnxruntime, one sequence, incremental)"
        )
    _atomic_write_text(out_dir / META_FILE, json.dumps(meta, indent=2) + "\n")
    return onnx_path


def export_run(run_dir: Path, quantize: str | None = None) -> Path:
    """Exports a run's checkpoint to model.onnx + model.json in the run dir; returns model.onnx."""
    run_dir = Path(run_dir)
    model, state = load_model(run_dir, device="cpu")
    tokenizer = state.get("tokenizer")
    if not isinstance(tokenizer, dict):
        raise ValueError(f"{RunDir(run_dir).checkpoint / STATE_FILE} holds no tokenizer")
    return export_model(model, run_dir, tokenizer, state, quantize)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wordplay_trainer export",
        description="Export a run's checkpoint: model.onnx + model.json for generation (the default), "
        "a Hugging Face folder (--format hf) or a GGUF file (--format gguf); or, with --from, a "
        "pretrained GPT-2 as a run folder that completes without training.",
    )
    parser.add_argument("--run", required=True, type=Path, help="the run directory (holds checkpoint/)")
    parser.add_argument(
        "--from",
        dest="source",
        help="gpt2, gpt2-medium, gpt2-large, gpt2-xl or a Hugging Face GPT-2 folder: write its "
        "weights as they are into --run (model.onnx + model.json, no training)",
    )
    parser.add_argument("--format", choices=FORMATS, default="onnx", help="what to write (default onnx)")
    parser.add_argument("--out", type=Path, help="--format hf: the folder to write; gguf: the .gguf file")
    parser.add_argument(
        "--gpt2-tokenizer",
        type=Path,
        help="a folder with GPT-2's vocab.json and merges.txt, for --format hf or gguf of a run whose "
        "tokenizer is gpt2 (`wordplay export` writes it from js-tiktoken's ranks)",
    )
    parser.add_argument(
        "--quantize", choices=["int8"], help="also write a dynamically quantised model.int8.onnx"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    problem = _usage_problem(args)
    if problem:
        print(f"wordplay export: {problem}", file=sys.stderr)
        return 1
    run_dir: Path = args.run
    try:
        if args.source is not None:
            from .pretrained import export_pretrained

            path = export_pretrained(args.source, run_dir, args.quantize)
        elif args.format == "hf":
            from .hf_export import export_hf

            path = export_hf(run_dir, args.out, args.gpt2_tokenizer)
        elif args.format == "gguf":
            from .gguf_export import export_gguf

            path = export_gguf(run_dir, args.out, args.gpt2_tokenizer)
        else:
            path = export_run(run_dir, args.quantize)
    except TrainerError as err:
        print(f"wordplay export: {err.message}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as err:
        print(f"wordplay export: exporting {args.source or run_dir} failed: {err}", file=sys.stderr)
        return 1
    print(path)
    return 0


def _usage_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the options before anything is read, naming the option and the fix."""
    if args.source is not None:
        if args.format != "onnx":
            return "--from writes model.onnx + model.json into --run; export that run with --format later"
        if args.run.exists() and any(args.run.iterdir()):
            return f"{args.run} is not empty: --from writes a new run folder; name one not there yet"
        return None
    if args.format != "onnx" and args.out is None:
        return f"--format {args.format} needs --out (the folder or .gguf file to write)"
    if args.format != "onnx" and args.quantize:
        return "--quantize int8 is for the ONNX export (--format onnx)"
    if not args.run.is_dir():
        return f"{args.run} is not a folder: name a run directory (it holds checkpoint/)"
    if not RunDir(args.run).checkpoint.is_dir() and not RunDir(args.run).previous_checkpoints():
        return (
            f"{args.run} has no checkpoint/ to export: train first (wordplay train), "
            "or name the run folder that holds checkpoint/"
        )
    return None
