"""`python -m wordplay_trainer finetune-bench model --out <folder>` and
`python -m wordplay_trainer finetune-bench reference --config <file> [--set k=v ...]`

The fine-tuning benchmark's two Python steps (check/finetune_bench.py; `wordplay bench finetune`
runs them beside our trainer): `model` writes a SmolLM2-135M-shaped Llama folder with random
weights and its tokenizer; `reference` trains what a run config asks (train.init_from a
Hugging Face folder, train.lora or a full fine-tune) with a plain transformers (+ PEFT) loop and
prints its per-step times, losses and peak memory as one JSON object on stdout. A problem is one
line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..check.finetune_bench import reference_run, write_model_folder
from ..common.errors import TrainerError
from ..train.config import load_config


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m wordplay_trainer finetune-bench")
    steps = p.add_subparsers(dest="step", required=True)
    model = steps.add_parser("model", help="write a SmolLM2-135M-shaped random Llama folder")
    model.add_argument("--out", required=True, help="the folder to write")
    reference = steps.add_parser("reference", help="a config's fine-tune with transformers (+ PEFT)")
    reference.add_argument("--config", required=True, help="a run config file")
    reference.add_argument("--set", dest="overrides", action="append", default=[], metavar="GROUP.KEY=VALUE")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.step == "model":
            write_model_folder(Path(args.out))
            print(json.dumps({"folder": str(Path(args.out).resolve())}))
        else:
            print(json.dumps(reference_run(load_config(args.config, args.overrides))))
    except TrainerError as e:
        print(f"wordplay finetune-bench: error: {e.message}", file=sys.stderr)
        return 1
    return 0
