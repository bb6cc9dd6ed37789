"""`python -m wordplay_trainer <command>`: the trainer's entry points, one module each in
commands/. A command's module is imported only when it runs, so `probe` answers even where
PyTorch is missing."""

import importlib
import os
import sys

# command name -> its module in commands/
COMMANDS = {
    "train": "train",
    "export": "export",
    "bench": "bench",
    "finetune-bench": "finetune_bench",
    "gpu-check": "gpu_check",
    "probe": "probe",
    "size": "size",
    "tokenizer": "tokenizer",
}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(f"usage: python -m wordplay_trainer {{{','.join(COMMANDS)}}} [options]", file=sys.stderr)
        return 2
    name = sys.argv.pop(1)
    command = importlib.import_module(f".commands.{COMMANDS[name]}", __package__)
    return command.main() or 0


if __name__ == "__main__":
    code = main()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # A torchrun worker ends here, without the interpreter's teardown: gloo's threads can
        # still hold tensors then, and finalising them aborts the process (SIGABRT, "terminate
        # called without an active exception"; pytorch/pytorch#179291), which turns a finished
        # run into a failed one. Everything the run wrote is closed by now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
