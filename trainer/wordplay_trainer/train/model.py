"""The language model: GPT-2 as nanoGPT's model.py writes it, and today's small-LM choices.

One file, no framework between the reader and the math:
1) token embeddings, plus learned position embeddings (GPT-2) unless positions are rotary,
2) n_layer pre-norm blocks of causal self-attention and an MLP,
3) a final norm and a head, tied to the token embedding (GPT-2) or a matrix of its own.

The defaults are GPT-2's (schemas/gpt2.json names the ones its weights fix). The options
(`GPTConfig`), each from the Llama / Qwen family the rest of the ecosystem runs: rotary
position embeddings (RoPE, the half-split rotation of Hugging Face's Llama) on queries and
keys, with its base; RMSNorm instead of LayerNorm, with its epsilon; RMSNorm of each head's
queries and keys before the rotation (QK-norm, Qwen3); a ReLU² MLP (modded-nanogpt, Arcee) or
SwiGLU (Llama) of any width; grouped-query attention (fewer key/value heads than query heads,
each shared by n_head / n_kv_head query heads); a head size other than n_embd / n_head (Qwen3);
biases on the query, key and value projections alone (Qwen2); an untied head; output
projections that start at zero; U-net skips from the first half's blocks to the second's
(modded-nanogpt; ONNX export only). A pretrained Llama, Qwen2 or Qwen3 folder maps onto these
(hf_weights.py), so one model, one exporter and one completion engine serve them all.

Two forward paths share every weight:
- `forward(idx, targets)` for training: the whole block at once, causal attention.
- `forward_cached(idx, pos, past)` for generation and ONNX export: new tokens at absolute
  positions `pos` attend to the cached keys/values of earlier tokens, and the new
  keys/values are returned, so each generated token costs one position, not the whole context.
  Cached keys are stored after their rotation, so the past never needs rotating again.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F

from .layers import RMSNorm, apply_rope, make_norm, rope_angles

# The embedding and head are padded to a multiple of this many rows: matrix shapes that are
# multiples of 64 run markedly faster on GPUs. Padding rows are never sampled.
VOCAB_MULTIPLE = 64

KeyValue = tuple[torch.Tensor, torch.Tensor]


@dataclass
class GPTConfig:
    vocab_size: int  # the tokenizer's real vocabulary
    block_size: int = 256
    n_layer: int = 6
    n_head: int = 6
    n_embd: int = 384
    dropout: float = 0.0
    bias: bool = False
    position: str = "learned"  # learned | rope
    norm: str = "layernorm"  # layernorm | rmsnorm
    qk_norm: bool = False
    mlp: str = "gelu"  # gelu | relu2 | swiglu
    tie_embeddings: bool = True
    zero_init: bool = False  # output projections (and an untied head) start at zero
    # None below means the rule GPT-2 and our presets use; __post_init__ fills it in
    n_kv_head: int | None = None  # key/value heads (grouped-query attention); None: n_head
    head_dim: int | None = None  # each head's size; None: n_embd // n_head
    mlp_hidden: int | None = None  # the MLP's width; None: 4·n_embd, SwiGLU 8/3·n_embd
    rope_base: float = 10000.0  # the rotary base (Llama 2's; Llama 3 and Qwen use larger)
    norm_eps: float = 1e-5  # LayerNorm's and RMSNorm's epsilon
    attn_bias: bool = False  # biases on the query, key and value projections (Qwen2)
    skip_connections: bool = False  # U-net: early blocks' outputs join late blocks' inputs

    def __post_init__(self) -> None:
        if self.n_kv_head is None:
            self.n_kv_head = self.n_head
        if self.head_dim is None:
            self.head_dim = self.n_embd // self.n_head
        if self.mlp_hidden is None:
            # SwiGLU has three matrices: 8/3·n_embd, down to a multiple of 8, gives it at most
            # the parameters of GPT-2's 4·n_embd MLP
            self.mlp_hidden = 4 * self.n_embd if self.mlp != "swiglu" else (8 * self.n_embd // 3) // 8 * 8
        assert self.n_head % self.n_kv_head == 0, "n_head must be a multiple of n_kv_head"

    def gpt2_heads_conflict(self) -> tuple[str, int, int] | None:
        """(key, ours, GPT-2's) for the first of n_kv_head, head_dim that GPT-2's attention (one
        key/value head per query head, each n_embd / n_head wide) cannot compute; None if none."""
        for key, ours, gpt2 in (
            ("n_kv_head", self.n_kv_head, self.n_head),
            ("head_dim", self.head_dim, self.n_embd // self.n_head),
        ):
            if ours != gpt2:
                return key, ours, gpt2
        return None

    def ours_only(self) -> str | None:
        """The first option no transformers or llama.cpp class computes (so no Hugging Face or
        GGUF export), or None."""
        return "skip_connections" if self.skip_connections else None

    @property
    def padded_vocab_size(self) -> int:
        return math.ceil(self.vocab_size / VOCAB_MULTIPLE) * VOCAB_MULTIPLE


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head, self.n_kv_head, self.head_dim = config.n_head, config.n_kv_head, config.head_dim
        self.dropout = config.dropout
        # query, key and value for all heads in one matmul: n_head query heads, then n_kv_head
        # key heads and n_kv_head value heads
        self.widths = (
            self.n_head * self.head_dim,
            self.n_kv_head * self.head_dim,
            self.n_kv_head * self.head_dim,
        )
        self.c_attn = nn.Linear(config.n_embd, sum(self.widths), bias=config.bias or config.attn_bias)
        self.c_proj = nn.Linear(self.n_head * self.head_dim, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        # QK-norm bounds the attention logits, which lets the learning rate go higher
        self.q_norm = RMSNorm(config.head_dim, config.norm_eps) if config.qk_norm else None
        self.k_norm = RMSNorm(config.head_dim, config.norm_eps) if config.qk_norm else None

    def _heads(
        self, x: torch.Tensor, rotation: tuple[torch.Tensor, torch.Tensor] | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        B, T, _ = x.shape
        q, k, v = self.c_attn(x).split(self.widths, dim=2)
        # (B, T, heads · head_dim) -> (B, heads, T, head_dim)
        q = q.view(B, T, self.n_head, self.head_dim).transpose(1, 2)
        k = k.view(B, T, self.n_kv_head, self.head_dim).transpose(1, 2)
        v = v.view(B, T, self.n_kv_head, self.head_dim).transpose(1, 2)
        if self.q_norm is not None and self.k_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        if rotation is not None:
            q, k = apply_rope(q, *rotation), apply_rope(k, *rotation)
        return q, k, v

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, **mask) -> torch.Tensor:
        """Attention of every query head; key/value head j serves query heads
        j·group .. (j+1)·group - 1 (Hugging Face's repeat_kv order)."""
        group = self.n_head // self.n_kv_head
        if group > 1:
            k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        return F.scaled_dot_product_attention(q, k, v, **mask)

    def _merge(self, y: torch.Tensor) -> torch.Tensor:
        B, _, T, _ = y.shape
        y = y.transpose(1, 2).contiguous().view(B, T, self.n_head * self.head_dim)
        return self.resid_dropout(self.c_proj(y))

    def forward(self, x: torch.Tensor, rotation: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        q, k, v = self._heads(x, rotation)
        # flash attention on GPUs; is_causal masks the future
        y = self._attend(q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        return self._merge(y)

    def forward_cached(
        self, x: torch.Tensor, past: KeyValue, rotation: tuple[torch.Tensor, torch.Tensor] | None
    ) -> tuple[torch.Tensor, KeyValue]:
        q, k, v = self._heads(x, rotation)
        k = torch.cat([past[0], k], dim=2)
        v = torch.cat([past[1], v], dim=2)
        # New token i sits at position past_len + i and may see every key up to there.
        # (is_causal would align the mask to the top-left corner, wrong when past_len > 0.)
        T, S = q.size(2), k.size(2)
        query_pos = torch.arange(T, device=x.device) + (S - T)
        mask = torch.arange(S, device=x.device)[None, :] <= query_pos[:, None]
        y = self._attend(q, k, v, attn_mask=mask)
        return self._merge(y), (k, v)


class MLP(nn.Module):
    """gelu: GPT-2's; relu2: relu(x)², as cheap as GELU and faster to train (modded-nanogpt);
    swiglu: silu(gate(x)) · up(x), Llama's."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.kind = config.mlp
        hidden = config.mlp_hidden
        self.c_fc = nn.Linear(config.n_embd, hidden, bias=config.bias)
        self.c_gate = nn.Linear(config.n_embd, hidden, bias=config.bias) if config.mlp == "swiglu" else None
        self.c_proj = nn.Linear(hidden, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.c_fc(x)
        if self.c_gate is not None:
            h = F.silu(self.c_gate(x)) * h
        elif self.kind == "relu2":
            h = F.relu(h).square()
        else:
            # GPT-2 uses the tanh approximation of GELU; matching it keeps OpenAI's weights exact
            h = F.gelu(h, approximate="tanh")
        return self.dropout(self.c_proj(h))


class Block(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = make_norm(config.norm, config.n_embd, config.bias, config.norm_eps)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = make_norm(config.norm, config.n_embd, config.bias, config.norm_eps)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, rotation: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), rotation)
        return x + self.mlp(self.ln_2(x))

    def forward_cached(
        self, x: torch.Tensor, past: KeyValue, rotation: tuple[torch.Tensor, torch.Tensor] | None
    ) -> tuple[torch.Tensor, KeyValue]:
        a, present = self.attn.forward_cached(self.ln_1(x), past, rotation)
        x = x + a
        return x + self.mlp(self.ln_2(x)), present


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        layers = dict(
            wte=nn.Embedding(config.padded_vocab_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=make_norm(config.norm, config.n_embd, config.bias, config.norm_eps),
        )
        if config.position == "learned":
            layers["wpe"] = nn.Embedding(config.block_size, config.n_embd)
        self.transformer = nn.ModuleDict(layers)
        # U-net: block i of the first half hands its output to block n_layer-1-i of the second
        self.skip_weights = nn.Parameter(torch.ones(config.n_layer // 2)) if config.skip_connections else None
        self.lm_head = nn.Linear(config.n_embd, config.padded_vocab_size, bias=False)
        if config.tie_embeddings:
            # the head reads the token embedding (https://paperswithcode.com/method/weight-tying)
            self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                # GPT-2's scaled init of the residual projections: each block adds two of them;
                # zero_init starts each block as the identity (modded-nanogpt)
                std = 0.0 if config.zero_init else 0.02 / math.sqrt(2 * config.n_layer)
                torch.nn.init.normal_(p, mean=0.0, std=std)
        if config.zero_init and not config.tie_embeddings:
            torch.nn.init.zeros_(self.lm_head.weight)

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self, non_embedding: bool = True) -> int:
        """Parameters; by default without the position embeddings, as nanoGPT and the
        PaLM FLOPs formula count them (a tied token embedding counts once, as the head)."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding and "wpe" in self.transformer:
            n -= self.transformer.wpe.weight.numel()
        return n

    def _rotation(self, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """cos and sin of the rotary angles at positions pos ((T,) or (B, T)), shaped to
        broadcast over (B, n_head, T, head_dim / 2); None for learned positions."""
        if self.config.position != "rope":
            return None
        angles = rope_angles(self.config.head_dim, pos, self.config.rope_base)
        angles = angles[None, None] if pos.dim() == 1 else angles[:, None]
        return angles.cos(), angles.sin()

    def _skip(self, x: torch.Tensor, layer: int, skips: list[torch.Tensor], output: bool) -> torch.Tensor:
        """The U-net skips around block `layer`: before a block of the second half (output
        False), the output of its mirror in the first half, weighted, joins its input; after a
        block of the first half (output True), its output is kept for its mirror."""
        if self.skip_weights is None:
            return x
        half, n = self.config.n_layer // 2, self.config.n_layer
        if output and layer < half:
            skips.append(x)
        elif not output and layer >= n - half:
            x = x + self.skip_weights[n - 1 - layer] * skips.pop()
        return x

    def _embed(self, idx: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        x = self.transformer.wte(idx)
        return x + self.transformer.wpe(pos) if "wpe" in self.transformer else x

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Training path. With targets: logits of every position and the mean cross-entropy.
        Without: logits of the last position only (cheaper), and no loss."""
        _, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(f"sequence of {T} tokens exceeds block_size {self.config.block_size}")
        pos = torch.arange(T, dtype=torch.long, device=idx.device)
        x = self.transformer.drop(self._embed(idx, pos))
        rotation = self._rotation(pos)
        skips: list[torch.Tensor] = []
        for i, block in enumerate(self.transformer.h):
            x = self._skip(x, i, skips, output=False)
            x = self._skip(block(x, rotation), i, skips, output=True)
        x = self.transformer.ln_f(x)
        if targets is None:
            return self.lm_head(x[:, [-1], :]), None
        logits = self.lm_head(x)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss

    def empty_cache(self, batch: int, device: torch.device | str = "cpu") -> list[KeyValue]:
        """Keys and values of zero past tokens, one pair per layer."""
        c = self.config
        shape = (batch, c.n_kv_head, 0, c.head_dim)
        dtype = self.lm_head.weight.dtype
        return [
            (torch.zeros(shape, dtype=dtype, device=device), torch.zeros(shape, dtype=dtype, device=device))
            for _ in range(c.n_layer)
        ]

    def forward_cached(
        self, idx: torch.Tensor, pos: torch.Tensor, past: list[KeyValue]
    ) -> tuple[torch.Tensor, list[KeyValue]]:
        """Generation path: new tokens `idx` (B, T) at absolute positions `pos` (B, T) after
        the cached keys/values `past`. Returns the logits of the last position over the real
        vocabulary (B, vocab_size) and the keys/values including the new tokens."""
        x = self._embed(idx, pos)
        rotation = self._rotation(pos)
        presents, skips = [], []
        for i, (block, layer_past) in enumerate(zip(self.transformer.h, past, strict=True)):
            x = self._skip(x, i, skips, output=False)
            x, present = block.forward_cached(x, layer_past, rotation)
            x = self._skip(x, i, skips, output=True)
            presents.append(present)
        x = self.transformer.ln_f(x[:, -1, :])
        return self.lm_head(x)[:, : self.config.vocab_size], presents

    def crop_block_size(self, block_size: int) -> None:
        """Shrink the context, e.g. to fine-tune GPT-2 (1024) with a shorter block."""
        assert block_size <= self.config.block_size
        self.config.block_size = block_size
        if "wpe" not in self.transformer:
            return  # rotary positions have no table
        # a copy, not a view: a slice would keep the whole table's storage, which safetensors
        # refuses to save ("no suitable name to keep ... None is covering the entire storage")
        self.transformer.wpe.weight = nn.Parameter(self.transformer.wpe.weight[:block_size].clone())

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Sample max_new_tokens after idx (B, T) with the KV cache; when the context reaches
        block_size, keep its most recent half and prefill again (positions stay in range)."""
        context = idx
        past = self.empty_cache(idx.size(0), idx.device)
        fresh = context[:, -self.config.block_size :]
        start = 0
        for _ in range(max_new_tokens):
            pos = torch.arange(start, start + fresh.size(1), device=idx.device).expand_as(fresh)
            logits, past = self.forward_cached(fresh, pos, past)
            logits = logits / max(temperature, 1e-6)
            if top_k is not None:
                v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float("inf")
            probs = F.softmax(logits, dim=-1)
            next_id = torch.multinomial(probs, num_samples=1, generator=generator)
            idx = torch.cat((idx, next_id), dim=1)
            start += fresh.size(1)
            fresh = next_id
            if start + 1 > self.config.block_size:
                keep = idx[:, -(self.config.block_size // 2) :]
                past = self.empty_cache(idx.size(0), idx.device)
                fresh, start = keep, 0
        return idx
