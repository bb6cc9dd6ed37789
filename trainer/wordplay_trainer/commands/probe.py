"""`python -m wordplay_trainer probe`: what this interpreter can train with (check/probe.py), as
one JSON object on stdout. It answers where PyTorch is missing too (__main__.py imports only the
command it runs)."""

import json
import sys

from ..check.probe import probe


def main() -> None:
    json.dump(probe(), sys.stdout)
    sys.stdout.write("\n")
