"""`python -m wordplay_trainer bench --config <preset|file> [--iters N] [--warmup W] [--set k=v ...]`

Training throughput (check/bench.py) as one JSON object on stdout: tokens/s and MFU, medians
over the timed iterations after warm-up. A problem is one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from ..check.bench import bench
from ..common.errors import TrainerError
from ..train.config import config_name, load_config


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m wordplay_trainer bench", description="Training throughput.")
    p.add_argument("--config", required=True, help="a preset name or a config file")
    p.add_argument("--iters", type=int, default=20, help="timed iterations (default 20)")
    p.add_argument("--warmup", type=int, default=5, help="untimed iterations first (default 5)")
    p.add_argument("--vocab-size", type=int, help="vocabulary of the synthetic data (default: the dataset's)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="GROUP.KEY=VALUE")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        cfg = load_config(args.config, args.overrides)
        result = bench(
            cfg, max(1, args.iters), max(0, args.warmup), config_name(args.config), args.vocab_size
        )
    except TrainerError as e:
        print(f"wordplay bench: error: {e.message}", file=sys.stderr)
        return 1
    except torch.OutOfMemoryError:
        print(
            "wordplay bench: error: out of GPU memory; lower train.batch_size or model.block_size with --set",
            file=sys.stderr,
        )
        return 1
    print(json.dumps(result, indent=2))
    return 0
