"""`python -m wordplay_trainer train --config <file|preset|JSON> [--run-dir D] [--set group.key=value ...]`

The command line around the training loop (train/loop.py): the config loaded and written to
the run dir's config.json (rank 0 alone; the trainer is that file's one writer, however it was
launched: `wordplay train`, the extension, torchrun), the stop request installed, the run, and
what the loop leaves to its caller: with train.keep_exports a completion model kept from each
evaluation (export/kept_exports.py), and the export of the completion model after the run
(export/onnx_model.py). SIGINT/SIGTERM: finish the step, checkpoint, `done` stopped, exit 0. Any
failure: an `error` event naming the key or file and the fix, then a non-zero exit. A run its
launcher started again (torchrun's restarts, SLURM's requeue) resumes from its last checkpoint by
itself (train/restart.py).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import traceback
from pathlib import Path

import torch
import torch.distributed as dist

from ..common.compute import compute_cleanup, in_process_group
from ..common.errors import TrainerError
from ..common.log import log
from ..run.events import EventWriter
from ..run.rundir import RunDir, default_run_dir
from ..train.config import config_name, load_config
from ..train.loop import KeepModel, Trainer
from ..train.model import GPT
from ..train.restart import restart_count, resume_if_restarted
from ..train.stop import StopFlag


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m wordplay_trainer train", description="Train a GPT.")
    p.add_argument("--config", required=True, help="a config file, a preset name, or the config as JSON text")
    p.add_argument("--run-dir", help="the run folder (default: runs/<timestamp>-<config name>)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="GROUP.KEY=VALUE")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    rank = int(os.environ.get("RANK", 0))
    world = int(os.environ.get("WORLD_SIZE", 1))
    if args.run_dir:
        root = Path(args.run_dir).resolve()
    elif world > 1:
        log("wordplay: --run-dir is required with several processes (they must share one run dir)")
        return 2
    else:
        root = default_run_dir(config_name(args.config))
    run_dir = RunDir(root)
    events = EventWriter(run_dir.events, enabled=rank == 0)
    stop = StopFlag.from_environment(run_dir.watcher)
    stop.install()
    trainer: Trainer | None = None
    try:
        cfg = resume_if_restarted(load_config(args.config, args.overrides), run_dir)
        if rank == 0:
            run_dir.write_config(cfg.as_dict())
        trainer = Trainer(cfg, run_dir, events, stop, keep_exports(run_dir, cfg.train.keep_exports))
        trainer.setup()
        reason = trainer.run()
        if in_process_group():
            # every rank past its last collective before any leaves: a rank that closes its
            # gloo connections while a peer still reads from them aborts that peer
            dist.barrier()
            compute_cleanup()
        if rank == 0:
            export_after(run_dir)
        target = cfg.train.target_val_loss
        reached = {"target_val_loss": target} if trainer.target_reached else {}
        events.emit("done", reason=reason, iter=trainer.iter, **reached)
        if rank == 0:
            why = f" (reached target val loss {target:g})" if reached else ""
            log(f"wordplay: {reason} at iteration {trainer.iter}{why}; run dir {run_dir.root}")
        return 0
    except TrainerError as e:
        return fail(events, e.message, e.key, trainer)
    except torch.OutOfMemoryError:
        batch = trainer.cfg.train.batch_size if trainer else None
        block = trainer.cfg.model.block_size if trainer else "?"
        message = (
            f"out of GPU memory with train.batch_size {batch} and model.block_size {block}; "
            "lower train.batch_size (raising train.gradient_accumulation_steps keeps the tokens per "
            "iteration) or model.block_size, or use a smaller model"
        )
        return fail(events, message, "train.batch_size", trainer)
    except Exception as e:  # noqa: BLE001 - every failure becomes an error event first
        traceback.print_exc()
        if in_process_group() and peer_failure(e):
            allowed = os.environ.get("TORCHELASTIC_MAX_RESTARTS", "0")
            restarts_left = allowed.isdigit() and restart_count() < int(allowed)
            then = (
                "torchrun starts the group again from the last checkpoint (distributed.max_restarts)"
                if restarts_left
                else "continue from the last checkpoint with train.init_from=resume"
            )
            message = (
                f"another process of this {world}-process run ended (killed, out of memory, or "
                "an error of its own: torchrun's output names it), so this one stopped too "
                f"({str(e).splitlines()[0]}); {then}"
            )
            return fail(events, message, None, trainer)
        return fail(
            events, f"unexpected {type(e).__name__}: {e} (a bug in wordplay: please report it)", None, trainer
        )
    finally:
        stop.restore()
        events.close()
        if trainer and trainer.scalars:
            trainer.scalars.close()
        compute_cleanup()


def keep_exports(run_dir: RunDir, limit: int) -> KeepModel:
    """train.keep_exports: each evaluation's model as a completion model in exports/, the keep
    rule applied (export/kept_exports.py)."""

    def keep(model: GPT, tokenizer: dict, state: dict) -> None:
        # onnx is loaded only by runs that keep exports
        from ..export.kept_exports import keep_export
        from ..export.onnx_model import export_model

        started = time.perf_counter()
        folder = keep_export(
            run_dir.exports,
            state["iteration"],
            limit,
            lambda out: export_model(model, out, tokenizer, state, log=lambda _: None),
        )
        log(f"kept {folder} ({time.perf_counter() - started:.1f} s)")

    return keep


def export_after(run_dir: RunDir) -> None:
    """Exports the completion model; a failure is a warning, never a failed run."""
    if os.environ.get("WORDPLAY_SKIP_EXPORT"):
        return
    try:
        # imported here: a Python without onnx still trains, and says why nothing was exported
        from ..export.onnx_model import export_run

        path = export_run(run_dir.root)
        log(f"wordplay: exported {path}")
    except ImportError as e:
        log(f"wordplay: warning: export skipped ({e})")
    except Exception as e:  # noqa: BLE001 - the run succeeded; export is a bonus here
        log(f"wordplay: warning: export failed ({type(e).__name__}: {e}); run `wordplay export` to retry")


def peer_failure(e: Exception) -> bool:
    """Whether a collective failed because a peer process went away (gloo and NCCL report it as
    a RuntimeError naming the lost connection)."""
    lost = re.search(r"gloo|nccl|connection|peer", str(e), re.IGNORECASE) is not None
    return isinstance(e, dist.DistError) or (isinstance(e, RuntimeError) and lost)


def fail(events: EventWriter, message: str, key: str | None, trainer: Trainer | None) -> int:
    fields: dict = {"message": message}
    if key:
        fields["key"] = key
    if trainer is not None:
        fields["iter"] = trainer.iter
    events.emit("error", **fields)
    events.emit("done", reason="error", **({"iter": trainer.iter} if trainer else {}))
    log(f"wordplay: error: {message}")
    return 1
