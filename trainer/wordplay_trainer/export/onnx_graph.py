"""The ONNX graph of `GPT.forward_cached`: the handoff from PyTorch to the TypeScript generation
engine. Its input and output names are schemas/model.json's, which completion
(src/core/complete) reads too; onnx_model.py writes the graph as model.onnx beside model.json.

`model.onnx` runs one step of `GPT.forward_cached`:

    inputs   input_ids        int64   (batch, seq)
             position_ids     int64   (batch, seq)        absolute positions past .. past+seq-1
             past_key_<i>     float32 (batch, past, width)      one pair per layer i
             past_value_<i>   float32 (batch, past, width)
             all_positions    bool    ()   what all_logits holds; generation feeds false
    outputs  logits           float32 (batch, vocab_size)  last position, real vocabulary only
             present_key_<i>  float32 (batch, past + seq, width)   past and new, concatenated
             present_value_<i>
             new_key_<i>      float32 (batch, seq, width)  the new tokens' part of present_*
             new_value_<i>
             all_logits       float32 (batch, seq, vocab_size)  every new position's logits when
                              all_positions is true, else (batch, 1, vocab_size): the last one's

so a prompt is prefilled once (past = 0) and every later token costs one position. Batch,
sequence and past lengths are dynamic. The keys/values are sequence-major, the key/value heads
side by side in the last axis (head h at columns h*head_dim ..): (batch, seq, n_kv_head,
head_dim) viewed as (batch, seq, width = n_kv_head * head_dim), i.e. PyTorch's (batch,
n_kv_head, seq, head_dim) transposed; width is n_embd for GPT-2's shapes. With grouped-query
attention (n_kv_head < n_head) the cache holds the n_kv_head heads only, and each is widened to
its n_head / n_kv_head query heads inside the step (Hugging Face's repeat_kv order). A reader may
feed present_* back as the next past_*, or, as the TypeScript engine does, fetch only new_* and
append them to a buffer of its own: the past is then a prefix of that buffer (no re-layout as
it grows), and each step moves a few kilobytes out of onnxruntime instead of the whole cache.
`all_logits` is for scoring a text (the editor's Model Surprise). It sits in an If on
all_positions because onnxruntime runs every node of the graph whatever outputs are fetched
(measured: its profile lists the nodes of unrequested outputs): generation feeds false and pays
the If and one Unsqueeze of the last logits (a few percent of a decode step at most, measured
on the shakespeare-char-cpu shape). The flag is a plain input, not one with a default value:
onnxruntime-node cannot feed an input that has an initializer.
"""

from __future__ import annotations

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

from ..common.schemas import read_json
from ..train.layers import rope_angles
from ..train.model import GPT

OPSET = 17
IR_VERSION = 8  # onnxruntime 1.23 (Python) reads IR <= 11; 8 is what opset 17 needs

MODEL = read_json("model.json")
INPUTS, OUTPUTS = MODEL["inputs"], MODEL["outputs"]
INPUT_IDS = INPUTS["ids"]
POSITION_IDS = INPUTS["positions"]
ALL_POSITIONS = INPUTS["all_positions"]
LOGITS = OUTPUTS["logits"]
ALL_LOGITS = OUTPUTS["all_logits"]
# per layer: the prefix, then the layer's index
PAST_KEY, PAST_VALUE = INPUTS["past_key"], INPUTS["past_value"]
PRESENT_KEY, PRESENT_VALUE = OUTPUTS["present_key"], OUTPUTS["present_value"]
NEW_KEY, NEW_VALUE = OUTPUTS["new_key"], OUTPUTS["new_value"]


def past_names(n_layer: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(n_layer) for prefix in (PAST_KEY, PAST_VALUE)]


def present_names(n_layer: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(n_layer) for prefix in (PRESENT_KEY, PRESENT_VALUE)]


def new_names(n_layer: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(n_layer) for prefix in (NEW_KEY, NEW_VALUE)]


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
    is a MatMul by its own (n_embd, vocab_size) matrix. Grouped-query attention keeps n_kv_head
    heads in the cache and widens them to the n_head query heads for MultiHeadAttention (Reshape,
    Expand, Reshape: key/value head j serves query heads j*group .. (j+1)*group - 1); onnxruntime's
    GroupQueryAttention would do it fused, but it keeps its cache as (batch, n_kv_head, seq,
    head_dim), not the sequence-major layout completion appends to. The query, key and value
    biases of model.attn_bias are c_attn's bias, added after its MatMul like any other. The U-net
    skips of model.skip_connections are a Mul by their weight and an Add.
    """
    c = model.config
    C, N, NKV, D = c.n_embd, c.n_head, c.n_kv_head, c.head_dim
    width = NKV * D  # one layer's keys (or values) per position: the cache's last axis
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
                epsilon=c.norm_eps,
            )
        bias = zero_bias if b is None else init(f"{name}.bias", b)
        return node(
            "LayerNormalization", [x, init(f"{name}.weight", w), bias], name, axis=-1, epsilon=c.norm_eps
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
        # (batch, seq, heads * head_dim) <-> (batch, seq, heads, head_dim), queries and keys
        per_head = {n: init(f"heads{n}_shape", np.array([0, 0, n, D], np.int64)) for n in {N, NKV}}
        flat = init("flat_shape", np.array([0, 0, -1], np.int64))

    def head_norm(x: str, w: np.ndarray, heads: int, name: str) -> str:
        """QK-norm: RMSNorm over each head's head_dim columns of (batch, seq, heads * head_dim)."""
        by_head = node("Reshape", [x, per_head[heads]], f"{name}.heads")
        normed = node(
            "SimplifiedLayerNormalization",
            [by_head, init(f"{name}.weight", w)],
            f"{name}.normed",
            axis=-1,
            epsilon=c.norm_eps,
        )
        return node("Reshape", [normed, flat], name)

    if c.position == "rope":
        angles = rope_angles(D, torch.arange(c.block_size), c.rope_base).numpy()
        cos_cache, sin_cache = init("rope_cos", np.cos(angles)), init("rope_sin", np.sin(angles))

    def rotate(x: str, heads: int, name: str) -> str:
        """RoPE at the absolute positions position_ids (onnxruntime's fused op; interleaved=0 is
        the half-split pairing of model.apply_rope)."""
        if c.position != "rope":
            return x
        inputs = [x, POSITION_IDS, cos_cache, sin_cache]
        return node("RotaryEmbedding", inputs, name, domain="com.microsoft", interleaved=0, num_heads=heads)

    group = N // NKV
    if group > 1:
        kv_heads = init("kv_heads_shape", np.array([0, 0, NKV, 1, D], np.int64))
        kv_repeat = init("kv_repeat", np.array([1, 1, 1, group, 1], np.int64))
        query_width = init("query_width_shape", np.array([0, 0, N * D], np.int64))

    def widen(x: str, name: str) -> str:
        """(batch, total, n_kv_head * head_dim) keys or values as (batch, total, n_head * head_dim):
        each key/value head repeated for its query heads, in repeat_kv's order."""
        if group == 1:
            return x
        heads = node("Reshape", [x, kv_heads], f"{name}.heads")
        return node("Reshape", [node("Expand", [heads, kv_repeat], f"{name}.expand"), query_width], name)

    def skip(x: str, layer: int, skips: list[str], output: bool) -> str:
        """model.skip_connections (the U-net of GPT._skip): a first-half block's output kept, and
        joined, weighted, to its mirror's input in the second half."""
        if not c.skip_connections:
            return x
        half, n = c.n_layer // 2, c.n_layer
        if output and layer < half:
            skips.append(x)
        elif not output and layer >= n - half:
            weight = init(f"h{layer}.skip_weight", sd["skip_weights"][n - 1 - layer])
            x = node("Add", [x, node("Mul", [skips.pop(), weight], f"h{layer}.skip")], f"h{layer}.skipped")
        return x

    wte = init("wte", sd["transformer.wte.weight"])
    split = init("qkv_split", np.array([N * D, width, width], np.int64))
    # The causal mask as an additive bias (1, 1, seq, past + seq), built once for all layers:
    # new token i sits at position past + i and sees keys 0 .. past + i.
    i64 = lambda name, v: init(name, np.array(v, np.int64))  # noqa: E731
    past_len = node("Gather", [node("Shape", [f"{PAST_KEY}0"], "past_shape"), i64("axis1", 1)], "past_len")
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
    skips: list[str] = []
    for i in range(c.n_layer):
        w = _block_weights(sd, f"transformer.h.{i}.")
        p = f"h{i}"
        x = skip(x, i, skips, output=False)
        a = norm(x, w["ln_1.weight"], w["ln_1.bias"], f"{p}.ln_1")
        qkv = linear(a, w["attn.c_attn.weight"], w["attn.c_attn.bias"], f"{p}.c_attn")
        q, k, v = f"{p}.q", f"{p}.k", f"{NEW_VALUE}{i}"
        node("Split", [qkv, split], [q, k, v], axis=-1)
        if c.qk_norm:
            q = head_norm(q, w["attn.q_norm.weight"], N, f"{p}.q_norm")
            k = head_norm(k, w["attn.k_norm.weight"], NKV, f"{p}.k_norm")
        q = rotate(q, N, f"{p}.q_rot")
        k = node("Identity", [rotate(k, NKV, f"{p}.k_rot")], f"{NEW_KEY}{i}")
        # keys/values of the past and the new tokens, (batch, past + seq, width)
        keys = node("Concat", [f"{PAST_KEY}{i}", k], f"{PRESENT_KEY}{i}", axis=1)
        values = node("Concat", [f"{PAST_VALUE}{i}", v], f"{PRESENT_VALUE}{i}", axis=1)
        att = node(
            "MultiHeadAttention",
            [q, widen(keys, f"{p}.keys"), widen(values, f"{p}.values"), "", "", causal],
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
        x = skip(x, i, skips, output=True)
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

    kv = ["batch", "past", width]
    inputs = [
        helper.make_tensor_value_info(INPUT_IDS, onnx.TensorProto.INT64, ["batch", "seq"]),
        helper.make_tensor_value_info(POSITION_IDS, onnx.TensorProto.INT64, ["batch", "seq"]),
        *(helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, kv) for n in past_names(c.n_layer)),
        helper.make_tensor_value_info(ALL_POSITIONS, onnx.TensorProto.BOOL, []),
    ]
    outputs = [
        helper.make_tensor_value_info(LOGITS, onnx.TensorProto.FLOAT, ["batch", c.vocab_size]),
        *(
            helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, ["batch", "total", width])
            for n in present_names(c.n_layer)
        ),
        *(
            helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, ["batch", "seq", width])
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
