"""`export --from`: a pretrained GPT-2 (train/gpt2_weights.py: a hub name or a Hugging Face
GPT-2 folder) written as a run folder of its own that lists and completes like a trained one,
without training.

Limits: the run reads text with GPT-2's own BPE, so a folder is refused unless its vocabulary has
GPT-2's size (a folder with another tokenizer of that size is not detected). An exported run has
no checkpoint: to fine-tune the weights, a training run names the same source in
train.init_from."""

from __future__ import annotations

from pathlib import Path

from ..common.errors import TrainerError
from ..common.files import new_folder
from ..run.events import EventWriter
from ..run.rundir import RunDir
from ..train.config import GPT2_ARCHITECTURE
from ..train.gpt2_weights import GPT2, HUB_NAMES, from_pretrained
from .onnx_model import export_model


def export_pretrained(source: str, run_dir: Path, quantize: str | None = None) -> Path:
    """The weights of `source` as they are, at their full context, written as a new run folder
    `run_dir`: model.onnx + model.json (with "pretrained": the source), a config.json that says
    only what is true of it (the model's shape and train.init_from; no dataset, no training
    settings) and an events.jsonl whose one event is a done event at iteration 0 (no start, no
    evaluation: it was never trained). The folder is written beside run_dir (hidden: the Runs
    tree skips it) and renamed into place, so a failed export leaves nothing. Returns
    model.onnx."""
    run_dir = Path(run_dir)
    if source not in HUB_NAMES and not Path(source).is_dir():
        raise TrainerError(
            f"--from {source!r} is neither {', '.join(HUB_NAMES)} nor a folder: name one of those, "
            "or the Hugging Face GPT-2 folder (config.json and the weights) to use",
            "--from",
        )
    init_from = source if source in HUB_NAMES else str(Path(source).resolve())
    model = from_pretrained(source, key="--from")
    c = model.config
    if c.vocab_size != GPT2["vocab_size"]:
        raise TrainerError(
            f"--from {source}: its vocabulary has {c.vocab_size} tokens, not GPT-2's {GPT2['vocab_size']}, "
            "so GPT-2's tokenizer cannot read its text; name a GPT-2 folder with GPT-2's vocabulary",
            "--from",
        )
    # run_dir is absent or empty: the export command refuses one that is not
    with new_folder(run_dir) as tmp:
        export_model(model, tmp, {"type": "gpt2"}, state={"pretrained": init_from}, quantize=quantize)
        shape = {"n_layer": c.n_layer, "n_head": c.n_head, "n_embd": c.n_embd, "block_size": c.block_size}
        config = {"model": {**shape, "bias": True, **GPT2_ARCHITECTURE}, "train": {"init_from": init_from}}
        RunDir(tmp).write_config(config)
        events = EventWriter(RunDir(tmp).events)
        events.emit("done", reason="finished", iter=0)
        events.close()
    return RunDir(run_dir).onnx
