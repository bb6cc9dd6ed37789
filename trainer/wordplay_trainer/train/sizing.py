"""Train for…: the model, batch and learning rates for a dataset and a time budget, from this
machine's measured throughput (tokens/s per candidate shape: check/calibrate.py) and a
compute-optimal rule measured on tiny Shakespeare. Pure arithmetic on those figures; the `size`
command (commands/size.py) measures and prints the plan.

The candidates are one family, nanochat's depth dial: depth d blocks, n_embd = 32·d (the aspect
of the shakespeare-char-cpu preset, 4×128), heads 32 wide below 256 and 64 wide from there (the
heads of both shakespeare-char presets), depths 1 to 8 and then even ones to 24 (from depth 4 on,
each about twice the last in parameters). Block size: the preset's 64 tokens below 256 wide, then
half the width rounded down to a power of two (256 at 16×512), whatever the tokenizer (a BPE
token holds more text, so its context reaches further), within the dataset's smaller split.
Everything else, the architecture (RoPE, RMSNorm, QK-norm, SwiGLU, tied embeddings; U-net skips
added on char datasets, commands/size.py) and Muon with its learning rates, is that preset's, the recipe tuned
for time to a loss on a CPU (#16); AdamW's learning rate falls as 1/sqrt(width) above the 384
where shakespeare-char still uses it (nanochat's scaling of it).

The rule: each candidate gets tokens/s × its training time (the budget less set-up, the
evaluations, the checkpoint and the export, as train/budget.py reserves them), counted as the
bytes of text they hold (tokens × the dataset's bytes a token); the largest candidate whose
parameters × BYTES_PER_PARAM fit in those bytes wins, or the next larger when its bytes a
parameter come nearer BYTES_PER_PARAM (Chinchilla: the compute-optimal model sees about 20
tokens a parameter, tokens of about 4 bytes; nanochat trains at 20). Parameters are those of the blocks (no
embedding, Kaplan's N), so a GPT-2 vocabulary's 50,257-row embedding does not count as model;
its cost is in the measured tokens/s. Repeated data is worth less: past one pass over the
training split, a candidate's tokens count as Muennighoff et al. 2023's effective data,
U·(1 + R*·(1 − e^(−R/R*))) for U unique tokens seen R more times, R* = 15.4 (4 epochs are worth
3.7 of unique data, 16 worth 10.6, never more than 16.4), which caps the model a small dataset
gets; a plan that repeats the data more than R* times gets nanoGPT's dropout for small data
(0.2). A budget in which even the smallest candidate cannot see its tokens is refused, with the
shortest budget that trains it.

BYTES_PER_PARAM and LOSS_FIT were measured (2026-12-07, 2-core VM) on tiny Shakespeare, char:
six runs at fixed tokens (MEASURED; one thread each, the shakespeare-char-cpu recipe and its
cosine schedule, block 64, 1,024 tokens a step, val loss over 60 batches at the end) at two
compute budgets, 6·N·D = 1.75e12 FLOPs (depths 2 to 5) and 7e12 (depths 3 and 4; about what
5 minutes on 2 cores give). At 1.75e12 depth 2 (31 tokens a parameter) and 3 (2.6) tie at 1.666
and 1.672, depth 4 (0.48) gives 1.792; at 7e12 depth 3 (10.6) beats depth 4 (1.9), 1.548 to
1.577. LOSS_FIT is L = E + A/N^0.5 + B/D^0.5 (Chinchilla's form) fitted to the six by least
squares (within 0.012 of each; Chinchilla's exponents, 0.34 and 0.28, fit 3 times worse): its
compute-optimal models see (B/A)^2 = 12.7 characters a parameter at every budget, our
BYTES_PER_PARAM (freeing both exponents fits no better and gives 11 to 13 over these budgets).
Chinchilla's 20 is for tokens of ~4 bytes and models a thousand times larger. LOSS_FIT is in
nats per character (bits per byte × ln 2 on this text): a dataset of other text or another
tokenizer is only roughly predicted, its tokens converted by their bytes.

The rule counts bytes, not tokens, because a BPE token holds several characters' worth of
text: counted in tokens, it gave a trained BPE too small a model. On the whole Python standard
library (trained BPE, 8,192 tokens, 3.9 bytes a token), 5 minutes on one thread, side by side:
2×64, the token rule's plan at 18 tokens (72 bytes) a parameter, reached 1.706 bits per byte;
3×96 at 15 bytes a parameter, the byte rule's, 1.680; 4×128 at 5 bytes 1.682 (MEASURED_BPE)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from .budget import EXPORT_FIXED_S, EXPORT_S_PER_PARAM, SAVE_S_PER_PARAM
from .model import GPT, GPTConfig

ASPECT = 32  # n_embd per block
DEPTHS = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24)
BYTES_PER_PARAM = 12.7  # measured on characters, a byte each: see the docstring and MEASURED
REPEAT_DECAY = 15.4  # R*, repetitions of data over which its worth decays (Muennighoff et al. 2023)
SMALL_DATA_DROPOUT = 0.2  # nanoGPT's shakespeare-char, for many epochs of little data
TARGET_STEPS = 1000  # the batch grows so that a plan makes about this many optimizer steps
MAX_TOKENS_PER_STEP = 2**19  # nanochat's total batch
MIN_SEQUENCES = 8  # the smallest batch, in sequences
MICRO_TOKENS = {"cpu": 1024, "mps": 4096, "cuda": 16384}  # tokens a forward pass takes at once
EVALS = 5  # evaluations between the first (at iteration 0) and the last
EVAL_ITERS = 20
SAMPLE_TOKENS = 100
SETUP_S = 1.5  # the dataset opened, the model and optimizer built, before the first step
MUON_LR = 0.03  # shakespeare-char(-cpu)'s
ADAMW_LR = 0.004  # theirs too, at 128 and at 384 wide
ADAMW_LR_WIDTH = 384  # above this width AdamW's rate falls as 1/sqrt(width)

# L = E + A / N**ALPHA + B / D**BETA, nats per character (tiny Shakespeare's char tokens)
LOSS_FIT = {"E": 1.281, "A": 72.66, "B": 259.0, "ALPHA": 0.5, "BETA": 0.5}
# the runs it was fitted to: (6·N·D, depth, block parameters N, tokens D, val loss)
MEASURED = [
    (1.75e12, 2, 97_664, 2_997_248, 1.6659),
    (1.75e12, 3, 332_544, 878_592, 1.6717),
    (1.75e12, 4, 779_520, 373_760, 1.7916),
    (1.75e12, 5, 1_531_520, 190_464, 1.9337),
    (7e12, 3, 332_544, 3_516_416, 1.5477),
    (7e12, 4, 779_520, 1_498_112, 1.5765),
]
# the byte rule's check on BPE, 300 s on one thread: (depth, block parameters N, tokens D, val bpb)
MEASURED_BPE = [(2, 97_664, 1_805_312, 1.706), (3, 332_544, 1_281_024, 1.680), (4, 779_520, 937_984, 1.682)]


@dataclass(frozen=True)
class Dataset:
    """What the rule needs of a dataset folder (prepare/dataset.py reads it)."""

    kind: str  # char | bpe | gpt2
    vocab_size: int
    train_tokens: int
    val_tokens: int
    bytes_per_token: float  # from meta.json's val byte and token counts (1.0 when absent)


@dataclass(frozen=True)
class Candidate:
    config: GPTConfig  # the model
    batch_size: int  # the micro-batch calibrated, in sequences
    params: int  # the blocks' parameters (N)
    params_total: int  # every parameter, the embedding once

    @property
    def n_layer(self) -> int:
        return self.config.n_layer

    @property
    def n_head(self) -> int:
        return self.config.n_head

    @property
    def n_embd(self) -> int:
        return self.config.n_embd

    @property
    def block_size(self) -> int:
        return self.config.block_size

    @property
    def name(self) -> str:
        return f"{self.n_layer}x{self.n_embd}"


def pow2_floor(x: float) -> int:
    return 1 << max(0, int(math.floor(math.log2(max(x, 1)))))


def block_size(n_embd: int, data: Dataset) -> int:
    block = max(64, pow2_floor(n_embd // 2))
    return min(block, 1024, pow2_floor(min(data.train_tokens, data.val_tokens) - 1))


def count_params(config: GPTConfig) -> tuple[int, int]:
    """(the blocks' parameters, every parameter), from a model on the meta device (no memory)."""
    with torch.device("meta"):
        model = GPT(config)
    blocks = sum(p.numel() for n, p in model.named_parameters() if n.startswith("transformer.h."))
    return blocks, model.num_params(non_embedding=False)


def model_config(depth: int, data: Dataset, architecture: dict) -> GPTConfig:
    n_embd = ASPECT * depth
    head_dim = 32 if n_embd < 256 else 64
    return GPTConfig(
        vocab_size=data.vocab_size,
        block_size=block_size(n_embd, data),
        n_layer=depth,
        n_head=n_embd // head_dim,
        n_embd=n_embd,
        **architecture,
    )


def candidates(data: Dataset, device_type: str, architecture: dict) -> Iterator[Candidate]:
    """The family, smallest first, each built when asked for; `architecture` is the recipe's
    model options (position, norm, ... as GPTConfig names them)."""
    for depth in DEPTHS:
        c = model_config(depth, data, architecture)
        blocks, total = count_params(c)
        batch = max(MIN_SEQUENCES, MICRO_TOKENS[device_type] // c.block_size)
        yield Candidate(c, batch, blocks, total)


@dataclass(frozen=True)
class Estimate:
    """A candidate in a budget: its batch, steps and tokens, and the time they leave."""

    candidate: Candidate
    tokens_per_s: float
    budget_s: float
    batch_size: int
    accumulation: int
    steps: int
    train_s: float
    overhead_s: float

    @property
    def tokens_per_step(self) -> int:
        return self.batch_size * self.accumulation * self.candidate.block_size

    @property
    def tokens(self) -> int:
        return self.steps * self.tokens_per_step

    @property
    def eval_interval(self) -> int:
        return max(1, self.steps // EVALS)


def batch_for(c: Candidate, tokens: float) -> tuple[int, int]:
    """(batch_size, gradient_accumulation_steps) for about TARGET_STEPS steps over `tokens`:
    a power of two of tokens a step, at least MIN_SEQUENCES sequences, in micro-batches of the
    calibrated size."""
    per_step = min(pow2_floor(tokens / TARGET_STEPS), MAX_TOKENS_PER_STEP)
    sequences = max(MIN_SEQUENCES, per_step // c.block_size)
    if sequences <= c.batch_size:
        return sequences, 1
    return c.batch_size, max(1, sequences // c.batch_size)


def overhead_s(c: Candidate, tokens_per_s: float, batch_size: int) -> float:
    """Seconds of the budget that train nothing: set-up, EVALS + 2 evaluations (eval_iters
    forward passes on train and val, a third of a step's work each, and a sample generated a
    token at a time over up to a block), the checkpoint and the export (train/budget.py's
    predictions of them)."""
    forward_s = batch_size * c.block_size / tokens_per_s / 3
    sample_s = SAMPLE_TOKENS * forward_s / batch_size
    evals_s = (EVALS + 2) * (2 * EVAL_ITERS * forward_s + sample_s)
    end_s = EXPORT_FIXED_S + (EXPORT_S_PER_PARAM + SAVE_S_PER_PARAM) * c.params_total
    return SETUP_S + evals_s + end_s


def estimate(c: Candidate, tokens_per_s: float, budget_s: float) -> Estimate:
    """What a candidate does in budget_s at tokens_per_s (its calibrated micro-batch's speed)."""
    first = max(0.0, budget_s - overhead_s(c, tokens_per_s, c.batch_size))
    batch, accumulation = batch_for(c, tokens_per_s * first)
    spare = overhead_s(c, tokens_per_s, batch)
    train_s = max(0.0, budget_s - spare)
    steps = int(tokens_per_s * train_s / (batch * accumulation * c.block_size))
    return Estimate(c, tokens_per_s, budget_s, batch, accumulation, steps, train_s, spare)


def useful_tokens(e: Estimate, data: Dataset) -> int:
    """The tokens that count as data: each repetition of the training split worth less."""
    unique = data.train_tokens
    if e.tokens <= unique:
        return e.tokens
    repeats = e.tokens / unique - 1
    return int(unique * (1 + REPEAT_DECAY * (1 - math.exp(-repeats / REPEAT_DECAY))))


def in_time(e: Estimate, data: Dataset) -> bool:
    """Whether the candidate sees its BYTES_PER_PARAM bytes of text a parameter in the budget."""
    return e.steps > 0 and e.tokens * data.bytes_per_token >= BYTES_PER_PARAM * e.candidate.params


def fits(e: Estimate, data: Dataset) -> bool:
    """in_time, counting repeated data at its worth."""
    return in_time(e, data) and bytes_per_param(e, data) >= BYTES_PER_PARAM


def choose(estimates: list[Estimate], data: Dataset) -> Estimate | None:
    """The candidate whose bytes a parameter come nearest BYTES_PER_PARAM (by ratio), or None
    when not even the smallest trains in time. `estimates` run from the smallest to the first
    that does not fit, so the choice is the largest that fits or the one above it: on a family
    whose sizes are 2 to 3 times apart, always taking the smaller rounds every plan down (at
    7e12 FLOPs depth 3 at 10.6 tokens a parameter beat depth 4 at 1.9, and at 1.75e12 tied
    depth 2 at 31)."""
    if not estimates or not in_time(estimates[0], data):
        return None
    trained = [e for e in estimates if e.steps > 0]
    return min(trained, key=lambda e: abs(math.log(bytes_per_param(e, data) / BYTES_PER_PARAM)))


def tokens_per_param(e: Estimate, data: Dataset) -> float:
    return max(useful_tokens(e, data), 1) / e.candidate.params


def bytes_per_param(e: Estimate, data: Dataset) -> float:
    """The bytes of text the candidate's useful tokens hold, a parameter."""
    return tokens_per_param(e, data) * data.bytes_per_token


def shortest_budget_s(c: Candidate, tokens_per_s: float, data: Dataset) -> float:
    """The shortest budget, to a tenth of a second, in which candidate c trains in time."""
    tokens = BYTES_PER_PARAM * c.params / data.bytes_per_token
    budget = tokens / tokens_per_s + overhead_s(c, tokens_per_s, MIN_SEQUENCES)
    while not in_time(estimate(c, tokens_per_s, budget), data):
        budget *= 1.01
    return math.ceil(budget * 10) / 10


def expected_val_loss(params: int, tokens: int, data: Dataset) -> float:
    """LOSS_FIT's val loss for N parameters trained on D tokens, per token of the dataset (whose
    tokens hold bytes_per_token characters' worth of text each), and never above the loss of
    guessing uniformly, ln(vocab_size)."""
    f, chars = LOSS_FIT, data.bytes_per_token
    per_char = f["E"] + f["A"] / params ** f["ALPHA"] + f["B"] / (tokens * chars) ** f["BETA"]
    return min(per_char * chars, math.log(data.vocab_size))


def learning_rate(n_embd: int) -> float:
    return ADAMW_LR * min(1.0, math.sqrt(ADAMW_LR_WIDTH / n_embd))


def run_config(e: Estimate, data: Dataset, dataset_path: str, recipe: dict, device: str) -> dict:
    """The run config of a plan: the recipe (a preset's JSON) with the plan's shape, batch,
    schedule and budget; train.max_iters a cap far past the estimate, so the budget ends it."""
    c = e.candidate
    lr = learning_rate(c.n_embd)
    epochs = e.tokens / data.train_tokens
    return {
        "data": {"dataset": dataset_path},
        "model": {
            **recipe["model"],
            "skip_connections": c.config.skip_connections,
            "n_layer": c.n_layer,
            "n_head": c.n_head,
            "n_embd": c.n_embd,
            "block_size": c.block_size,
            "dropout": SMALL_DATA_DROPOUT if epochs > 1 + REPEAT_DECAY else 0.0,
        },
        "train": {
            **{k: v for k, v in recipe["train"].items() if k not in ("device", "compile")},
            "batch_size": e.batch_size,
            "gradient_accumulation_steps": e.accumulation,
            # 20x: a calibration kept from a busy hour can be 10x slow (measured on a loaded 2-core VM)
            "max_iters": max(10, 20 * e.steps),
            "time_budget_s": round(e.budget_s, 3),
            "eval_interval": e.eval_interval,
            "eval_iters": EVAL_ITERS,
            "log_interval": min(10, max(1, e.steps // 200)),
            "sample_tokens": SAMPLE_TOKENS,
            "device": device,
            # the calibration times the model as it runs uncompiled; compiling takes its own
            # minute of a budget
            "compile": "false",
        },
        "optimizer": {
            **recipe["optimizer"],
            "muon_learning_rate": MUON_LR,
            "learning_rate": lr,
            "min_lr": lr / 10,
            "warmup_iters": min(100, max(5, e.steps // 25)),
            "lr_decay_iters": None,
        },
    }
