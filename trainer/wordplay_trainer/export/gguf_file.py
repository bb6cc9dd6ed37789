"""`wordplay export --run <dir> --format gguf --out <file.gguf>`: a run's model as one GGUF file,
the format llama.cpp and everything built on it (Ollama, LM Studio, llama.vscode) loads.

The file is written with llama.cpp's own `gguf` package, and laid out as llama.cpp's
convert_hf_to_gguf.py lays out the architecture whose graph computes ours exactly:

    learned + layernorm + gelu            -> gpt2   (fused attn_qkv; every bias, zero where ours has none)
    rope + rmsnorm + swiglu               -> llama  (Q and K rows permuted, see below)
    rope + rmsnorm + qk_norm + swiglu     -> qwen3  (the shakespeare-char-cpu preset)
    rope + rmsnorm + relu2                -> arcee  (Q and K rows permuted)

Any other combination, or linear biases outside gpt2, has no llama.cpp architecture that computes
it, and is refused rather than written as a model that would load and generate something else.
llama's and arcee's RoPE rotates adjacent pairs (x[2i], x[2i+1]), ours (Hugging Face Llama's)
rotates (x[i], x[i + head_dim/2]); as convert_hf_to_gguf.py does, each head's query and key rows
are reordered so that llama.cpp's pairs are ours (qwen3 rotates half-split pairs, as we do).
Tensors are float32 and cover the real vocabulary only, not the padding rows.

The tokenizer goes in as llama.cpp's byte-level BPE ("gpt2" model) with the pre-tokenizer whose
split is ours: GPT-2's own vocabulary and merges (from --gpt2-tokenizer, "gpt-2"); the trained
BPE's tokenizer.json ("llama-bpe", Llama 3's split); a char vocabulary as single bytes in GPT-2's
byte alphabet, so it is limited to characters of one UTF-8 byte. llama.cpp needs a merges list
and, lacking an end-of-text id, takes id 11 as one; a char vocabulary has neither, so it gets a
merge that can never apply and one extra control token, `<|endoftext|>`, whose rows are the
model's first padding row, a token training never sees (a zero row when there is no padding).
No BOS is added to prompts, as our engine adds none.

Limits: float32 only (llama.cpp's llama-quantize makes smaller files from it); qwen3 and arcee need
a llama.cpp from mid-2025 on; run it with a context of at most block_size (context_length):
positions past it are ones the model never learned (gpt2's position table ends there), where our
engine slides its window instead.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import torch

from ..common.errors import TrainerError
from ..common.files import replacing
from ..prepare.bpe import bytes_to_unicode
from ..prepare.dataset import (
    BPE_END_OF_TEXT,
    GPT2_END_OF_TEXT,
    GPT2_VOCAB,
    tokenizer_kind,
    tokenizer_vocab_size,
)
from ..run.rundir import STATE_FILE, RunDir
from ..train.checkpoint import load_model
from ..train.model import GPT, GPTConfig
from .hf_tokenizer import GPT2_FILES

T = gguf.MODEL_TENSOR
# (position, norm, qk_norm, mlp) -> the llama.cpp architecture that computes it
ARCHITECTURES = {
    ("learned", "layernorm", False, "gelu"): gguf.MODEL_ARCH.GPT2,
    ("rope", "rmsnorm", False, "swiglu"): gguf.MODEL_ARCH.LLAMA,
    ("rope", "rmsnorm", True, "swiglu"): gguf.MODEL_ARCH.QWEN3,
    ("rope", "rmsnorm", False, "relu2"): gguf.MODEL_ARCH.ARCEE,
}
# llama.cpp rotates adjacent pairs for these (LLAMA_ROPE_TYPE_NORM), half-split pairs for qwen3
INTERLEAVED_ROPE = (gguf.MODEL_ARCH.LLAMA, gguf.MODEL_ARCH.ARCEE)
# llama.cpp requires tokenizer.ggml.merges and gguf-py writes no empty array, so a vocabulary
# without merges gets this one: its left side is two characters, a symbol that only a merge makes
UNMATCHABLE_MERGE = "ĠĠ Ġ"


def _architecture(c: GPTConfig) -> gguf.MODEL_ARCH:
    options = (c.position, c.norm, c.qk_norm, c.mlp)
    arch = ARCHITECTURES.get(options)
    if arch is not None and (not c.bias or arch == gguf.MODEL_ARCH.GPT2):
        return arch
    exports = "; ".join(
        f"{p} + {n}{' + qk_norm' if q else ''} + {m} ({gguf.MODEL_ARCH_NAMES[a]})"
        for (p, n, q, m), a in ARCHITECTURES.items()
    )
    message = (
        f"model.position={c.position}, model.norm={c.norm}, model.qk_norm={str(c.qk_norm).lower()}, "
        f"model.mlp={c.mlp}, model.bias={str(c.bias).lower()} is no architecture llama.cpp computes "
        f"exactly, so it has no GGUF export. GGUF exports: {exports}; model.bias=true with gpt2 only. "
        "Export it as ONNX (--format onnx) instead"
    )
    raise TrainerError(message, "model")


def _name(tensor: gguf.MODEL_TENSOR, layer: int | None = None, suffix: str = "weight") -> str:
    return f"{gguf.TENSOR_NAMES[tensor].format(bid=layer)}.{suffix}"


def _interleave_rope(w: np.ndarray, n_head: int) -> np.ndarray:
    """Rows of each head reordered from half-split pairs (i, i + d/2) to adjacent ones (2i, 2i + 1):
    convert_hf_to_gguf.py's LlamaModel.permute."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _rows(w: np.ndarray, rows: int) -> np.ndarray:
    """The first `rows` rows of an embedding or head, zero rows after its padding."""
    return np.concatenate([w[:rows], np.zeros((rows - len(w[:rows]), w.shape[1]), w.dtype)])


def gguf_tensors(model: GPT, arch: gguf.MODEL_ARCH, rows: int) -> dict[str, np.ndarray]:
    """The model's tensors under llama.cpp's names, float32, numpy's (out, in) order (the GGUF
    file stores the reverse, ggml's), the embedding and head cut to `rows`."""
    c = model.config
    sd = {k: v.detach().to("cpu", torch.float32).numpy() for k, v in model.state_dict().items()}
    gpt2 = arch == gguf.MODEL_ARCH.GPT2

    def bias(key: str, width: int) -> np.ndarray:
        # llama.cpp's gpt2 requires every bias; a model without them adds zeros
        return sd.get(key, np.zeros(width, np.float32))

    out = {_name(T.TOKEN_EMBD): _rows(sd["transformer.wte.weight"], rows)}
    if gpt2:
        out[_name(T.POS_EMBD)] = sd["transformer.wpe.weight"]
    for i in range(c.n_layer):
        p = f"transformer.h.{i}."
        qkv = sd[p + "attn.c_attn.weight"]
        out[_name(T.ATTN_NORM, i)] = sd[p + "ln_1.weight"]
        out[_name(T.FFN_NORM, i)] = sd[p + "ln_2.weight"]
        out[_name(T.ATTN_OUT, i)] = sd[p + "attn.c_proj.weight"]
        out[_name(T.FFN_UP, i)] = sd[p + "mlp.c_fc.weight"]
        out[_name(T.FFN_DOWN, i)] = sd[p + "mlp.c_proj.weight"]
        if gpt2:
            out[_name(T.ATTN_QKV, i)] = qkv
            out[_name(T.ATTN_NORM, i, "bias")] = bias(p + "ln_1.bias", c.n_embd)
            out[_name(T.ATTN_QKV, i, "bias")] = bias(p + "attn.c_attn.bias", 3 * c.n_embd)
            out[_name(T.ATTN_OUT, i, "bias")] = bias(p + "attn.c_proj.bias", c.n_embd)
            out[_name(T.FFN_NORM, i, "bias")] = bias(p + "ln_2.bias", c.n_embd)
            out[_name(T.FFN_UP, i, "bias")] = bias(p + "mlp.c_fc.bias", c.mlp_hidden)
            out[_name(T.FFN_DOWN, i, "bias")] = bias(p + "mlp.c_proj.bias", c.n_embd)
            continue
        q, k, v = np.split(qkv, 3)
        if arch in INTERLEAVED_ROPE:
            q, k = _interleave_rope(q, c.n_head), _interleave_rope(k, c.n_head)
        out[_name(T.ATTN_Q, i)], out[_name(T.ATTN_K, i)], out[_name(T.ATTN_V, i)] = q, k, v
        if c.qk_norm:
            out[_name(T.ATTN_Q_NORM, i)] = sd[p + "attn.q_norm.weight"]
            out[_name(T.ATTN_K_NORM, i)] = sd[p + "attn.k_norm.weight"]
        if c.mlp == "swiglu":
            out[_name(T.FFN_GATE, i)] = sd[p + "mlp.c_gate.weight"]
    out[_name(T.OUTPUT_NORM)] = sd["transformer.ln_f.weight"]
    if gpt2:
        out[_name(T.OUTPUT_NORM, suffix="bias")] = bias("transformer.ln_f.bias", c.n_embd)
    if not c.tie_embeddings:
        out[_name(T.OUTPUT)] = _rows(sd["lm_head.weight"], rows)
    return {name: np.ascontiguousarray(t) for name, t in out.items()}


def _vocabulary(tokenizer: dict, gpt2_tokenizer: Path | None) -> tuple[list[str], list[str], str, int]:
    """(tokens by id, merges as "left right", llama.cpp's pre-tokenizer name, end-of-text id)."""
    from tokenizers.models import BPE

    kind = tokenizer_kind(tokenizer)
    if kind == "gpt2":
        if gpt2_tokenizer is None:
            raise TrainerError(
                "this run uses GPT-2's tokenizer, whose vocabulary the trainer does not ship: export it "
                "with `wordplay export --format gguf` (the Node CLI), which supplies it through "
                "--gpt2-tokenizer",
                "--gpt2-tokenizer",
            )
        files = [Path(gpt2_tokenizer) / name for name in GPT2_FILES]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise TrainerError(
                f"--gpt2-tokenizer {gpt2_tokenizer} lacks {', '.join(missing)}: name a folder with GPT-2's "
                f"{' and '.join(GPT2_FILES)}",
                "--gpt2-tokenizer",
            )
        vocab, merges = BPE.read_file(*map(str, files))
        if len(vocab) != GPT2_VOCAB:
            raise TrainerError(
                f"--gpt2-tokenizer {gpt2_tokenizer} has {len(vocab)} tokens, not GPT-2's {GPT2_VOCAB}: "
                "name the folder `wordplay export` writes",
                "--gpt2-tokenizer",
            )
        tokens = sorted(vocab, key=vocab.get)
        return tokens, [f"{a} {b}" for a, b in merges], "gpt-2", GPT2_END_OF_TEXT
    if kind == "bpe":
        model = tokenizer["model"]
        ids = {**model["vocab"], **{t["content"]: t["id"] for t in tokenizer["added_tokens"]}}
        tokens = sorted(ids, key=ids.get)
        merges = [" ".join(m) for m in model["merges"]]
        return tokens, merges, "llama-bpe", ids[BPE_END_OF_TEXT]
    alphabet = bytes_to_unicode()
    wide = [ch for ch in tokenizer["vocab"] if len(ch.encode("utf-8")) != 1]
    if wide:
        raise TrainerError(
            f"the char vocabulary holds {len(wide)} characters of more than one UTF-8 byte "
            f"({', '.join(map(repr, wide[:5]))}): llama.cpp's tokenizer splits text into bytes, so a GGUF "
            "export needs every character to be one byte. Prepare the dataset with --tokenizer bpe, or "
            "export as ONNX (--format onnx)",
            "data.dataset",
        )
    tokens = [alphabet[ord(ch)] for ch in tokenizer["vocab"]] + [BPE_END_OF_TEXT]
    return tokens, [UNMATCHABLE_MERGE], "gpt-2", len(tokens) - 1


def _check_out(out: Path) -> None:
    if out.is_dir():
        raise TrainerError(f"--out {out} is a folder: name the .gguf file to write", "--out")
    if out.suffix != ".gguf":
        raise TrainerError(f"--out {out} does not end in .gguf: name the .gguf file to write", "--out")


def export_gguf(run_dir: Path, out: Path, gpt2_tokenizer: Path | None) -> Path:
    """Writes the run's checkpoint as the GGUF file `out` (atomically); returns its path."""
    run_dir, out = Path(run_dir), Path(out)
    _check_out(out)
    model, state = load_model(run_dir, device="cpu")
    c = model.config
    arch = _architecture(c)
    tokenizer = state.get("tokenizer")
    if not isinstance(tokenizer, dict):
        raise ValueError(f"{RunDir(run_dir).checkpoint / STATE_FILE} holds no tokenizer")
    if tokenizer_vocab_size(tokenizer) != c.vocab_size:
        raise ValueError(
            f"the tokenizer has {tokenizer_vocab_size(tokenizer)} tokens but the model's vocab_size is "
            f"{c.vocab_size}"
        )
    tokens, merges, pre, eos = _vocabulary(tokenizer, gpt2_tokenizer)
    tensors = gguf_tensors(model, arch, len(tokens))

    with replacing(out) as tmp:
        writer = gguf.GGUFWriter(tmp, gguf.MODEL_ARCH_NAMES[arch])
        try:
            writer.add_name(run_dir.resolve().name)
            writer.add_file_type(gguf.LlamaFileType.ALL_F32)
            writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
            writer.add_vocab_size(len(tokens))
            writer.add_context_length(c.block_size)
            writer.add_embedding_length(c.n_embd)
            writer.add_feed_forward_length(c.mlp_hidden)
            writer.add_block_count(c.n_layer)
            writer.add_head_count(c.n_head)
            writer.add_head_count_kv(c.n_head)
            if arch == gguf.MODEL_ARCH.GPT2:
                writer.add_layer_norm_eps(c.norm_eps)
            else:
                writer.add_layer_norm_rms_eps(c.norm_eps)
                writer.add_rope_freq_base(c.rope_base)
                writer.add_rope_dimension_count(c.head_dim)
            writer.add_tokenizer_model("gpt2")
            writer.add_tokenizer_pre(pre)
            writer.add_token_list(tokens)
            writer.add_token_types(
                [gguf.TokenType.CONTROL if i == eos else gguf.TokenType.NORMAL for i in range(len(tokens))]
            )
            writer.add_token_merges(merges)
            writer.add_eos_token_id(eos)
            writer.add_bos_token_id(eos)
            writer.add_add_bos_token(False)
            for name, tensor in tensors.items():
                writer.add_tensor(name, tensor)
            writer.write_header_to_file()
            writer.write_kv_data_to_file()
            writer.write_tensors_to_file()
        finally:
            writer.close()
    return out
