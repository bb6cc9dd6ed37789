"""`python -m wordplay_trainer export --run <dir> [--quantize int8]`: a run's checkpoint as
model.onnx + model.json for completion (export/onnx_model.py); `--format hf --out <folder>` a
Hugging Face folder (export/hf_folder.py), `--format gguf --out <file.gguf>` a GGUF file
(export/gguf_file.py), `--format peft --out <folder>` a LoRA run's adapters alone in PEFT's format
(export/peft_adapter.py); `--from <gpt2 name | folder | hub name> --run <new dir>` a pretrained model as a run
(export/pretrained_run.py). It prints the path written; a problem is one line on stderr naming
the option or file and the fix, and exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..common.errors import TrainerError
from ..common.schemas import read_json
from ..export.onnx_model import export_run
from ..export.pretrained_run import export_pretrained
from ..run.rundir import RunDir

# what `export --format` writes: model.onnx + model.json, a Hugging Face folder, a GGUF file, a
# PEFT adapter folder
FORMATS = read_json("model.json")["export_formats"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wordplay_trainer export",
        description="Export a run's checkpoint: model.onnx + model.json for generation (the default), "
        "a Hugging Face folder (--format hf), a GGUF file (--format gguf) or a LoRA run's adapters "
        "for PEFT (--format peft); or, with --from, a "
        "pretrained model as a run folder that completes without training.",
    )
    parser.add_argument("--run", required=True, type=Path, help="the run directory (holds checkpoint/)")
    parser.add_argument(
        "--from",
        dest="source",
        help="gpt2, gpt2-medium, gpt2-large, gpt2-xl, a Hugging Face folder of a GPT-2, Llama, Qwen2 or "
        "Qwen3 model, or such a model's hub name (owner/name): write its weights as they are into --run "
        "(model.onnx + model.json, no training)",
    )
    parser.add_argument("--format", choices=FORMATS, default="onnx", help="what to write (default onnx)")
    parser.add_argument(
        "--out", type=Path, help="--format hf or peft: the folder to write; gguf: the .gguf file"
    )
    parser.add_argument(
        "--gpt2-tokenizer",
        type=Path,
        help="a folder with GPT-2's vocab.json and merges.txt, for --format hf or gguf of a run whose "
        "tokenizer is gpt2 (`wordplay export` writes it from js-tiktoken's ranks)",
    )
    parser.add_argument(
        "--quantize", choices=["int8"], help="also write a dynamically quantised model.int8.onnx"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    problem = _usage_problem(args)
    if problem:
        print(f"wordplay export: {problem}", file=sys.stderr)
        return 1
    run_dir: Path = args.run
    try:
        if args.source is not None:
            path = export_pretrained(args.source, run_dir, args.quantize)
        elif args.format == "hf":
            from ..export.hf_folder import export_hf  # transformers, loaded for this format only

            path = export_hf(run_dir, args.out, args.gpt2_tokenizer)
        elif args.format == "gguf":
            from ..export.gguf_file import export_gguf  # gguf, loaded for this format only

            path = export_gguf(run_dir, args.out, args.gpt2_tokenizer)
        elif args.format == "peft":
            from ..export.peft_adapter import export_peft  # peft, loaded for this format only

            path = export_peft(run_dir, args.out)
        else:
            path = export_run(run_dir, args.quantize)
    except TrainerError as err:
        print(f"wordplay export: {err.message}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as err:
        print(f"wordplay export: exporting {args.source or run_dir} failed: {err}", file=sys.stderr)
        return 1
    print(path)
    return 0


def _usage_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the options before anything is read, naming the option and the fix."""
    if args.source is not None:
        if args.format != "onnx":
            return "--from writes model.onnx + model.json into --run; export that run with --format later"
        if args.run.exists() and any(args.run.iterdir()):
            return f"{args.run} is not empty: --from writes a new run folder; name one not there yet"
        return None
    if args.format != "onnx" and args.out is None:
        return f"--format {args.format} needs --out (the folder or .gguf file to write)"
    if args.format != "onnx" and args.quantize:
        return "--quantize int8 is for the ONNX export (--format onnx)"
    if not args.run.is_dir():
        return f"{args.run} is not a folder: name a run directory (it holds checkpoint/)"
    if not RunDir(args.run).checkpoint.is_dir() and not RunDir(args.run).previous_checkpoints():
        return (
            f"{args.run} has no checkpoint/ to export: train first (wordplay train), "
            "or name the run folder that holds checkpoint/"
        )
    return None
