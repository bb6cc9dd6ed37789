"""Lines for people. They go to stderr; machines read events.jsonl and a command's stdout."""

import sys


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
