"""`python -m wordplay_trainer tokenizer --inputs <json> --vocab-size N --out tokenizer.json`:
train a byte-level BPE on a dataset's training text (prepare/bpe.py) and write it as a Hugging
Face tokenizer.json.

`--inputs` names a JSON file: {"files": [paths], "end": {"file": i, "byte": b}}: the training text
is the files in order up to byte b of file i. Progress goes to stdout as JSON lines
{"bytes": n}; a problem is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..prepare.bpe import FACTS, train, training_text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m wordplay_trainer tokenizer", description="Train BPE.")
    p.add_argument("--inputs", required=True, help='JSON: {"files": [...], "end": {"file": i, "byte": b}}')
    p.add_argument("--vocab-size", type=int, required=True)
    p.add_argument("--out", required=True, help="the tokenizer.json to write")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if args.vocab_size < FACTS["min_vocab_size"]:
        least = f"{FACTS['min_vocab_size']} (256 bytes and {FACTS['end_of_text']})"
        print(f"--vocab-size must be at least {least}", file=sys.stderr)
        return 2
    try:
        import rustbpe  # noqa: F401
    except ImportError:
        print("rustbpe is not in this Python environment: run `wordplay setup` to update it", file=sys.stderr)
        return 2
    inputs = json.loads(Path(args.inputs).read_text(encoding="utf-8"))
    done = 0
    last = 0.0

    def progress(n: int) -> None:
        nonlocal done, last
        done += n
        if time.monotonic() - last > 0.2:
            last = time.monotonic()
            print(json.dumps({"bytes": done}), flush=True)

    text = training_text(inputs["files"], inputs["end"]["file"], inputs["end"]["byte"], progress)
    tokenizer = train(text, args.vocab_size)
    tokenizer.save(args.out)
    print(json.dumps({"bytes": done}), flush=True)
    return 0
