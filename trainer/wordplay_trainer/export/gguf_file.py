"""`wordplay export --run <dir> --format gguf --out <file.gguf>`: a run's model as one GGUF file,
the format llama.cpp and everything built on it (Ollama, LM Studio, llama.vscode) loads.

The file is written with llama.cpp's own `gguf` package, and laid out as llama.cpp's
convert_hf_to_gguf.py lays out the architecture whose graph computes ours exactly:

    learned + layernorm + gelu            -> gpt2   (fused attn_qkv; every bias, zero where ours has none)
    rope + rmsnorm + swiglu               -> llama  (Q and K rows permuted, see below)
    rope + rmsnorm + swiglu + attn_bias   -> qwen2  (q, k and v biases)
    rope + rmsnorm + qk_norm + swiglu     -> qwen3  (the shakespeare-char-cpu preset)
    rope + rmsnorm + relu2                -> arcee  (Q and K rows permuted)

Any other combination, or linear biases outside gpt2 (and q/k/v ones outside gpt2 and qwen2), has
no llama.cpp architecture that computes it, and is refused rather than written as a model that
would load and generate something else. Grouped-query attention is head_count_kv (the llama
family's; gpt2's has none, so it is refused there, as a head size other than n_embd / n_head is);
a head size of its own is key_length and value_length, as convert_hf_to_gguf.py writes Qwen3's.
llama's and arcee's RoPE rotates adjacent pairs (x[2i], x[2i+1]), ours (Hugging Face Llama's)
rotates (x[i], x[i + head_dim/2]); as convert_hf_to_gguf.py does, each head's query and key rows
are reordered so that llama.cpp's pairs are ours (qwen2 and qwen3 rotate half-split pairs, as we
do).
Tensors are float32 and cover the real vocabulary only, not the padding rows.

The tokenizer goes in as llama.cpp's byte-level BPE ("gpt2" model) with the pre-tokenizer whose
split is ours: GPT-2's own vocabulary and merges (from --gpt2-tokenizer, "gpt-2"); the trained
BPE's tokenizer.json ("llama-bpe", Llama 3's split); a model folder's tokenizer.json (Llama 3's,
Qwen2's, SmolLM2's or GPT-2's split, named as convert_hf_to_gguf.py names them; another is
refused), its embedding's rows past the tokenizer's ids as unused [PAD<id>] tokens; a char
vocabulary as single bytes in GPT-2's byte alphabet, so it is limited to characters of one UTF-8
byte. llama.cpp needs a merges list and, lacking an end-of-text id, takes id 11 as one; a char
vocabulary has neither, so it gets a merge that can never apply and one extra control token,
`<|endoftext|>`, whose rows are the model's first padding row, a token training never sees (a zero
row when there is no padding). No BOS is added to prompts, as our engine adds none.

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
from ..common.schemas import read_json
from ..prepare.bpe import bytes_to_unicode
from ..prepare.dataset import (
    BPE_END_OF_TEXT,
    GPT2_END_OF_TEXT,
    GPT2_VOCAB,
    tokenizer_json,
    tokenizer_kind,
    tokenizer_vocab_size,
)
from ..run.rundir import STATE_FILE, RunDir
from ..train.checkpoint import load_model
from ..train.model import GPT, GPTConfig
from .hf_tokenizer import GPT2_FILES
from .refusals import refuse_gpt2_heads, refuse_ours_only

T = gguf.MODEL_TENSOR
# (position, norm, qk_norm, mlp) -> the llama.cpp architecture that computes it
ARCHITECTURES = {
    ("learned", "layernorm", False, "gelu"): gguf.MODEL_ARCH.GPT2,
    ("rope", "rmsnorm", False, "swiglu"): gguf.MODEL_ARCH.LLAMA,
    ("rope", "rmsnorm", True, "swiglu"): gguf.MODEL_ARCH.QWEN3,
    ("rope", "rmsnorm", False, "relu2"): gguf.MODEL_ARCH.ARCEE,
}
# llama.cpp rotates adjacent pairs for these (LLAMA_ROPE_TYPE_NORM), half-split pairs for qwen2/3
INTERLEAVED_ROPE = (gguf.MODEL_ARCH.LLAMA, gguf.MODEL_ARCH.ARCEE)
# llama.cpp requires tokenizer.ggml.merges and gguf-py writes no empty array, so a vocabulary
# without merges gets this one: its left side is two characters, a symbol that only a merge makes
UNMATCHABLE_MERGE = "ĠĠ Ġ"
# llama.cpp's pre-tokenizer for a model folder's byte-level BPE, told by its split, as
# convert_hf_to_gguf.py names those of Llama 3 (and our trained BPE's, schemas/bpe.json), Qwen2/3
# (digits one at a time), SmolLM2 (digits, then GPT-2's split) and GPT-2
LLAMA3_SPLIT = read_json("bpe.json")["pattern"]
SPLITS = {LLAMA3_SPLIT: "llama-bpe", LLAMA3_SPLIT.replace(r"\p{N}{1,3}", r"\p{N}"): "qwen2"}


def _architecture(c: GPTConfig) -> gguf.MODEL_ARCH:
    refuse_ours_only(c, "GGUF", "llama.cpp computes no such model")
    options = (c.position, c.norm, c.qk_norm, c.mlp)
    arch = ARCHITECTURES.get(options)
    if arch == gguf.MODEL_ARCH.GPT2:
        refuse_gpt2_heads(
            c,
            "GGUF",
            "llama.cpp's gpt2",
            'model.position "rope", model.norm "rmsnorm" and model.mlp "swiglu" (llama)',
        )
        return arch
    if arch == gguf.MODEL_ARCH.LLAMA and c.attn_bias and not c.bias:
        return gguf.MODEL_ARCH.QWEN2  # Llama with biases on q, k and v alone
    if arch is not None and not c.bias and not c.attn_bias:
        return arch
    exports = "; ".join(
        f"{p} + {n}{' + qk_norm' if q else ''} + {m} ({gguf.MODEL_ARCH_NAMES[a]})"
        for (p, n, q, m), a in ARCHITECTURES.items()
    )
    message = (
        f"model.position={c.position}, model.norm={c.norm}, model.qk_norm={str(c.qk_norm).lower()}, "
        f"model.mlp={c.mlp}, model.bias={str(c.bias).lower()}, model.attn_bias={str(c.attn_bias).lower()} "
        f"is no architecture llama.cpp computes exactly, so it has no GGUF export. GGUF exports: {exports}; "
        "model.bias=true with gpt2 only; model.attn_bias=true with gpt2 or llama's options (qwen2). "
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
        # n_head query heads, then n_kv_head key and n_kv_head value heads
        widths = np.cumsum([c.n_head * c.head_dim, c.n_kv_head * c.head_dim])
        q, k, v = np.split(qkv, widths)
        if arch in INTERLEAVED_ROPE:
            q, k = _interleave_rope(q, c.n_head), _interleave_rope(k, c.n_kv_head)
        out[_name(T.ATTN_Q, i)], out[_name(T.ATTN_K, i)], out[_name(T.ATTN_V, i)] = q, k, v
        if arch == gguf.MODEL_ARCH.QWEN2:
            qb, kb, vb = np.split(sd[p + "attn.c_attn.bias"], widths)
            out[_name(T.ATTN_Q, i, "bias")], out[_name(T.ATTN_K, i, "bias")] = qb, kb
            out[_name(T.ATTN_V, i, "bias")] = vb
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


def _folder_vocabulary(tokenizer: dict, rows: int) -> tuple[list[str], list, list[str], str, int | None]:
    """A model folder's tokenizer (prepare --tokenizer <folder>) as convert_hf_to_gguf.py writes
    it: (tokens by id, padded to the embedding's `rows` with unused [PAD<id>] ones, their types,
    merges, the pre-tokenizer's name, the end-of-text id or None)."""
    hf = tokenizer_json(tokenizer)
    added = {t["id"]: t for t in hf.get("added_tokens", [])}
    by_id = {i: t for t, i in hf["model"]["vocab"].items()} | {i: t["content"] for i, t in added.items()}

    def kind(i: int) -> gguf.TokenType:
        if i not in by_id:
            return gguf.TokenType.UNUSED
        if i not in added:
            return gguf.TokenType.NORMAL
        return gguf.TokenType.CONTROL if added[i].get("special") else gguf.TokenType.USER_DEFINED

    types = [kind(i) for i in range(rows)]
    tokens = [by_id.get(i, f"[PAD{i}]") for i in range(rows)]
    merges = [m if isinstance(m, str) else " ".join(m) for m in hf["model"]["merges"]]
    return tokens, types, merges, _pre_tokenizer(hf, tokenizer["source"]), tokenizer["end_of_text"]


def _pre_tokenizer(hf: dict, source: str) -> str:
    """llama.cpp's name for the tokenizer.json's split of text into words; a TrainerError when it
    has none."""
    pre = hf.get("pre_tokenizer") or {}
    *head, last = (pre.get("pretokenizers") if pre.get("type") == "Sequence" else [pre]) or [{}]
    if last.get("type") == "ByteLevel" and not last.get("add_prefix_space"):
        regex = last.get("use_regex", True)
        if not head and regex:
            return "gpt-2"
        first = head[0] if len(head) == 1 else {}
        if regex and first.get("type") == "Digits" and first.get("individual_digits"):
            return "smollm"
        split = first.get("pattern", {}).get("Regex") if first.get("type") == "Split" else None
        if not regex and split in SPLITS:
            return SPLITS[split]
    raise TrainerError(
        f"{source}'s tokenizer.json splits text in a way llama.cpp has no name for here (it knows Llama 3's, "
        "Qwen2's, SmolLM2's and GPT-2's splits), so a GGUF file would tokenize prompts otherwise than "
        "the model was trained on. Export it with --format hf (llama.cpp's convert_hf_to_gguf.py reads "
        "that folder) or as ONNX (--format onnx)",
        "data.dataset",
    )


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
    folder = tokenizer_kind(tokenizer) == "hf"
    # a model folder's embedding may have rows past its tokenizer's ids (Qwen's): [PAD] tokens
    if tokenizer_vocab_size(tokenizer) > c.vocab_size or (
        tokenizer_vocab_size(tokenizer) < c.vocab_size and not folder
    ):
        raise ValueError(
            f"the tokenizer has {tokenizer_vocab_size(tokenizer)} tokens but the model's vocab_size is "
            f"{c.vocab_size}"
        )
    if folder:
        tokens, types, merges, pre, eos = _folder_vocabulary(tokenizer, c.vocab_size)
    else:
        tokens, merges, pre, eos = _vocabulary(tokenizer, gpt2_tokenizer)
        types = [gguf.TokenType.CONTROL if i == eos else gguf.TokenType.NORMAL for i in range(len(tokens))]
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
            writer.add_head_count_kv(c.n_kv_head)
            if c.head_dim != c.n_embd // c.n_head:
                writer.add_key_length(c.head_dim)
                writer.add_value_length(c.head_dim)
            if arch == gguf.MODEL_ARCH.GPT2:
                writer.add_layer_norm_eps(c.norm_eps)
            else:
                writer.add_layer_norm_rms_eps(c.norm_eps)
                writer.add_rope_freq_base(c.rope_base)
                writer.add_rope_dimension_count(c.head_dim)
            writer.add_tokenizer_model("gpt2")
            writer.add_tokenizer_pre(pre)
            writer.add_token_list(tokens)
            writer.add_token_types(types)
            writer.add_token_merges(merges)
            if eos is not None:  # a model folder without an eos token has none
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
