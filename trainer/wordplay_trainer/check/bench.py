"""Training throughput (the `bench` command prints it): tokens/s and MFU, medians over the timed
iterations after warm-up (compilation, allocator, caches). It needs only Python and PyTorch:
when the config's dataset is absent it trains on random tokens (said as "data": "synthetic"),
which costs the same FLOPs per token.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch

from ..common.compute import compile_model, compile_rule, cpu_run_seconds
from ..common.errors import TrainerError
from ..common.mfu import device_peak, mfu, model_flops_per_token
from ..prepare.dataset import GPT2_VOCAB, Batches, Dataset
from ..train.init_from import new_model
from ..train.loop import run_compute
from ..train.optimizer import make_optimizer
from ..train.run_config import RunConfig


def bench(cfg: RunConfig, iters: int, warmup: int, name: str, vocab_size: int | None = None) -> dict:
    t, m = cfg.train, cfg.model
    compute = run_compute(cfg)
    device, dtype, autocast = compute.device, compute.dtype, compute.autocast
    B, G, T = t.batch_size, t.gradient_accumulation_steps, m.block_size
    dataset = None
    if Path(cfg.data.dataset).is_dir():
        try:
            dataset = Dataset(cfg.data.dataset)
            dataset.check_block_size(T)
        except TrainerError:
            dataset = None
    if vocab_size is None:
        vocab_size = dataset.vocab_size if dataset else (65 if "char" in name else GPT2_VOCAB)
    model = new_model(m, vocab_size).to(device)
    optimizer = make_optimizer(model, cfg.optimizer, device)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == "float16")
    c = model.config
    n_params = model.num_params()
    flops_token = model_flops_per_token(model, n_params, T)
    peak, peak_source = device_peak(device, dtype)
    tokens_per_iter = B * G * T
    # compiled as the config's run would be (train.compile auto on the CPU: by its length)
    run_s = cpu_run_seconds(flops_token * tokens_per_iter * t.max_iters, peak, t.time_budget_s)
    compiled = compile_rule(t.compile, device.type, run_s, c.n_embd, c.dropout)
    step_model = compile_model(model, device) if compiled else model
    batches = Batches(dataset, "train", T, B, device, t.seed) if dataset else None

    def micro_batches():
        if batches is not None:
            return batches.step(G)
        gen = torch.randint(vocab_size, (G, B, T + 1))
        return [(g[:, :-1].contiguous().to(device), g[:, 1:].contiguous().to(device)) for g in gen]

    times = []
    model.train()
    for i in range(warmup + iters):
        data = micro_batches()
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for x, y in data:
            with autocast:
                _, loss = step_model(x, y)
            scaler.scale(loss / G).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optimizer.grad_clip or 1e9)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        loss.item()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    dt = statistics.median(times)
    tps = tokens_per_iter / dt
    util = mfu(flops_token, tps, peak)
    name_of = str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
    return {
        "config": name,
        "device": name_of,
        "dtype": dtype,
        "compile": compiled,
        "torch": torch.__version__,
        "data": "dataset" if dataset else "synthetic",
        "n_params": n_params,
        "tokens_per_iter": tokens_per_iter,
        "warmup_iters": warmup,
        "iters": iters,
        "dt_ms_median": dt * 1000,
        "tokens_per_s": tps,
        "mfu": util,
        "peak_flops": peak,
        "peak_source": peak_source,
        "threads": torch.get_num_threads(),
    }
