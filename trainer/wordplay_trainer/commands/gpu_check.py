"""`python -m wordplay_trainer gpu-check --out <report.json> [--dry-run]`: the one-command GPU
check (check/gpu_check.py), its report written as JSON (schemas/gpu-check.schema.json); exit
code 0 when every step that ran passed, else 1."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..check.gpu_check import run_check
from ..common.files import write_atomic
from ..common.log import log


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m wordplay_trainer gpu-check",
        description="Train, resume, export and benchmark on the GPU in about 8 minutes; write a JSON report.",
    )
    p.add_argument("--out", required=True, type=Path, help="the report to write (e.g. bench/gpu-check.json)")
    p.add_argument("--dry-run", action="store_true", help="the same steps on the CPU at toy sizes")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    report = run_check(args.dry_run)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out, json.dumps(report, indent=2) + "\n")
    failed = [name for name, s in report["steps"].items() if s["status"] == "failed"]
    verdict = "passed" if report["passed"] else f"FAILED ({', '.join(failed)})"
    log(f"[gpu-check] {verdict} in {report['seconds']:.0f} s; report: {args.out}")
    return 0 if report["passed"] else 1
