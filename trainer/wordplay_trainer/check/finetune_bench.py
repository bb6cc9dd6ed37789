"""The fine-tuning benchmark's Python side (the `finetune-bench` command; bench/finetune.ts runs
it): a SmolLM2-135M-shaped Llama folder with random weights and a byte-level BPE tokenizer
(offline: the benchmark measures speed and memory, which random weights do not change), and the
reference our trainer is measured against: a plain Hugging Face transformers training loop, with
PEFT's LoRA where the run config has `train.lora`, doing what that config asks of our trainer:
the same folder, dataset, batches (our Batches, seeded alike), block size, dtype, AdamW with its
settings and weight-decay groups, gradient clipping, and number of steps.

Both sides report per-step wall times and the process's peak resident memory (VmHWM) after the
last step, so the figures compare like with like.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from ..common.errors import TrainerError
from ..prepare.dataset import Batches, Dataset
from ..prepare.shakespeare import shakespeare_text
from ..train.loop import run_compute
from ..train.run_config import RunConfig

# SmolLM2-135M's config.json (HuggingFaceTB/SmolLM2-135M), which LlamaConfig reads
SMOLLM2_135M = dict(
    hidden_size=576,
    intermediate_size=1536,
    num_hidden_layers=30,
    num_attention_heads=9,
    num_key_value_heads=3,
    vocab_size=49152,
    tie_word_embeddings=True,
    rope_theta=100000.0,
    max_position_embeddings=8192,
    rms_norm_eps=1e-5,
    bos_token_id=0,
    eos_token_id=0,
)
# the tokenizer trained on tiny Shakespeare: ids below the model's vocabulary, as a real
# tokenizer's are; its size does not change the cost of a step
TOKENIZER_VOCAB = 8192
END_OF_TEXT = "<|endoftext|>"

# train.lora.targets names the projections by their Llama names: the module of each in
# Hugging Face's model
HF_PROJECTIONS = {t: f"{t}_proj" for t in ("q", "k", "v", "o", "gate", "up", "down")}


def write_model_folder(folder: Path, seed: int = 0) -> None:
    """A SmolLM2-135M-shaped LlamaForCausalLM with random weights (safetensors) and a byte-level
    BPE tokenizer trained on tiny Shakespeare, written by transformers into `folder`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(LlamaConfig(**SMOLLM2_135M))
    model.save_pretrained(folder, safe_serialization=True)
    del model
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TOKENIZER_VOCAB,
        special_tokens=[END_OF_TEXT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(shakespeare_text().splitlines(keepends=True), trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token=END_OF_TEXT, eos_token=END_OF_TEXT)
    tokenizer.save_pretrained(folder)


def peak_rss_bytes() -> int:
    """This process's peak resident memory so far: VmHWM, or ru_maxrss where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def lora_of(cfg: RunConfig):
    """The run config's train.lora as PEFT's LoraConfig, or None for a full fine-tune."""
    lora = cfg.train.lora
    if lora.rank is None:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=lora.rank,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=[HF_PROJECTIONS[t] for t in lora.targets],
        task_type="CAUSAL_LM",
    )


def reference_run(cfg: RunConfig) -> dict:
    """Trains train.init_from (a Hugging Face folder) for train.max_iters steps with
    transformers (+ PEFT) as a person would write the loop; returns the per-step times and
    losses, the parameter counts and the peak resident memory after the last step."""
    from transformers import AutoModelForCausalLM

    t, opt = cfg.train, cfg.optimizer
    compute = run_compute(cfg)  # the device, dtype and autocast our trainer would use; seeds
    device = compute.device
    if not Path(t.init_from).is_dir():
        raise TrainerError(
            f"train.init_from {t.init_from!r} is not a Hugging Face folder; the reference loop "
            "needs the model's folder",
            "train.init_from",
        )
    model = AutoModelForCausalLM.from_pretrained(t.init_from, dtype=torch.float32, attn_implementation="sdpa")
    model.config.use_cache = False  # training keeps no KV cache
    lora = lora_of(cfg)
    if lora is not None:
        from peft import get_peft_model

        model = get_peft_model(model, lora)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": opt.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    # fused, as transformers' Trainer defaults to with torch 2.8 and later ("adamw_torch_fused")
    optimizer = torch.optim.AdamW(groups, lr=opt.learning_rate, betas=(opt.beta1, opt.beta2), fused=True)
    dataset = Dataset(cfg.data.dataset)
    block, accumulation = cfg.model.block_size, t.gradient_accumulation_steps
    batches = Batches(dataset, "train", block, t.batch_size, device, t.seed)

    model.train()
    dts, losses = [], []
    for _ in range(t.max_iters):
        t0 = time.perf_counter()
        loss_sum = 0.0
        for x, y in batches.step(accumulation):
            with compute.autocast:
                logits = model(input_ids=x).logits
                loss = F.cross_entropy(logits.view(-1, logits.size(-1)).float(), y.view(-1)) / accumulation
            loss.backward()
            loss_sum += loss.detach()
        if opt.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, opt.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss_sum))  # waits for the device
        dts.append(time.perf_counter() - t0)
    return {
        "device": str(device),
        "dtype": compute.dtype,
        "threads": torch.get_num_threads(),
        "n_params": sum(p.numel() for p in model.parameters()),
        "n_trainable": sum(p.numel() for p in params),
        "tokens_per_iter": t.batch_size * accumulation * block,
        "dt_s": dts,
        "losses": losses,
        "peak_rss_bytes": peak_rss_bytes(),
    }
