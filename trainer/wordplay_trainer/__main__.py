"""`python -m wordplay_trainer <command>`: the trainer's entry points. Each command's module
is imported only when it runs, so `probe` answers even where PyTorch is missing."""

import sys

COMMANDS = {
    "train": "wordplay_trainer.train",
    "export": "wordplay_trainer.export",
    "bench": "wordplay_trainer.bench",
    "probe": "wordplay_trainer.probe",
}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(f"usage: python -m wordplay_trainer {{{','.join(COMMANDS)}}} [options]", file=sys.stderr)
        return 2
    name = sys.argv.pop(1)
    module = __import__(COMMANDS[name], fromlist=["main"])
    return module.main() or 0


if __name__ == "__main__":
    sys.exit(main())
