"""Exports a tiny random model and dumps PyTorch's logits for it, for the TypeScript parity test.

    python trainer/tests/make_reference.py --out DIR [--steps 50] [--block-size 64] [--seed 0]
                                           [--tokenizer char|gpt2] [--variant NAME=JSON ...]

(--variant: a model with these architecture options, e.g. rope='{"position": "rope"}', written
into DIR/NAME/; repeatable. Without it, one GPT-2 model into DIR.)

writes DIR/model.onnx, DIR/model.json and DIR/reference.json:
{"prompt": [ids], "steps": [one id per step], "logits": [[prefill logits], [after step 1], ...]}
(positions are absolute from 0; logits over the real vocabulary, float32 as lists).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wordplay_trainer.export.onnx_model import export_model  # noqa: E402
from wordplay_trainer.train.model import GPT, GPTConfig  # noqa: E402

# A character vocabulary with a newline, sorted as `wordplay prepare` sorts it.
VOCAB = sorted(set("\n !',-.:;?abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"))


def tiny_model(
    vocab_size: int = len(VOCAB),
    block_size: int = 32,
    bias: bool = False,
    seed: int = 0,
    n_layer: int = 2,
    **options,
) -> GPT:
    """A 2-layer GPT whose weights are jittered well away from the init, so logits differ
    clearly between tokens and a parity test means something. `options`: GPTConfig's
    architecture options."""
    torch.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size, block_size, n_layer=n_layer, n_head=2, n_embd=32, bias=bias, **options))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


@torch.no_grad()
def reference(model: GPT, prompt: list[int], steps: list[int]) -> list[list[float]]:
    """Logits after the prefill of `prompt`, then after each single-token step."""
    ids = torch.tensor([prompt])
    logits, past = model.forward_cached(ids, torch.arange(len(prompt))[None, :], model.empty_cache(1))
    out = [logits[0].tolist()]
    for i, token in enumerate(steps):
        pos = torch.tensor([[len(prompt) + i]])
        logits, past = model.forward_cached(torch.tensor([[token]]), pos, past)
        out.append(logits[0].tolist())
    return out


def write_reference(args: argparse.Namespace, out: Path, options: dict) -> None:
    gpt2 = args.tokenizer == "gpt2"
    vocab_size = 50257 if gpt2 else len(VOCAB)
    model = tiny_model(vocab_size=vocab_size, block_size=args.block_size, seed=args.seed, **options)
    tokenizer = {"type": "gpt2"} if gpt2 else {"type": "char", "vocab": VOCAB}
    export_model(model, out, tokenizer, {"iter": 0}, log=lambda _msg: None)
    g = torch.Generator().manual_seed(args.seed)
    prompt = torch.randint(0, vocab_size, (args.prompt_length,), generator=g).tolist()
    steps = torch.randint(0, vocab_size, (args.steps,), generator=g).tolist()
    ref = {"prompt": prompt, "steps": steps, "logits": reference(model, prompt, steps)}
    (out / "reference.json").write_text(json.dumps(ref), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--prompt-length", type=int, default=7)
    parser.add_argument("--block-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tokenizer", choices=["char", "gpt2"], default="char")
    parser.add_argument("--variant", action="append", default=[], help="NAME=JSON architecture options")
    args = parser.parse_args(argv)
    if args.prompt_length + args.steps > args.block_size:
        parser.error("--prompt-length + --steps must fit in --block-size")
    variants = [v.partition("=") for v in args.variant]
    for name, _, options in variants or [("", "", "{}")]:
        write_reference(args, args.out / name, json.loads(options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
