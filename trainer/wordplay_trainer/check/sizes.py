"""How big each step of the GPU check runs: on the GPU (GPU), or on the CPU at toy sizes for a
dry run (DRY_RUN), so CI runs the check's own logic in a few minutes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    """How big each step runs: the GPU check's sizes, or the dry run's toy ones."""

    device: str
    dtype: str
    compile: str
    iters: int  # the train step's
    more_iters: int  # the resume step's
    log_interval: int
    eval_iters: int
    model: tuple[str, ...]  # --set overrides for every shakespeare-char run (the dry run's toy size)
    gpt2: tuple[str, ...]  # --set overrides for gpt2-124m's bench (the dry run's toy size)
    bench_iters: int
    bench_warmup: int
    distributed_iters: int
    caps: dict[str, int]  # seconds each step's child process may take, at most, by step


GPU = Sizes(
    device="cuda",
    dtype="bfloat16",
    compile="true",
    iters=200,
    more_iters=50,
    log_interval=10,
    eval_iters=20,
    model=(),
    gpt2=(),
    bench_iters=10,
    bench_warmup=3,
    distributed_iters=50,
    caps={
        "train": 150,
        "resume": 90,
        "export": 60,
        "bench_shakespeare_char": 120,
        "bench_gpt2_124m": 180,
        "distributed": 150,
    },
)
TOY_MODEL = ("model.n_layer=1", "model.n_head=2", "model.n_embd=32", "model.block_size=32")
DRY_RUN = Sizes(
    device="cpu",
    dtype="float32",
    compile="false",
    iters=30,
    more_iters=10,
    log_interval=5,
    eval_iters=2,
    model=(*TOY_MODEL, "train.batch_size=8"),
    gpt2=(*TOY_MODEL, "train.batch_size=2", "train.gradient_accumulation_steps=1"),
    bench_iters=2,
    bench_warmup=1,
    distributed_iters=6,
    caps={
        "train": 120,
        "resume": 120,
        "export": 120,
        "bench_shakespeare_char": 120,
        "bench_gpt2_124m": 120,
        "distributed": 180,
    },
)
