"""`export --from`: a pretrained model (train/hf_weights.py: a GPT-2 hub name, a Hugging Face
folder of a GPT-2, Llama, Qwen2 or Qwen3 model, or such a model's hub name) written as a run
folder of its own that lists and completes like a trained one, without training.

Limits: GPT-2's run reads text with GPT-2's own BPE, so a GPT-2 folder is refused unless its
vocabulary has GPT-2's size (a folder with another tokenizer of that size is not detected); the
other families read it with their folder's tokenizer.json, which model.json carries. An exported run
has no checkpoint: to fine-tune the weights, a training run names the same source in
train.init_from."""

from __future__ import annotations

import json
from pathlib import Path

from ..common.errors import TrainerError
from ..common.files import new_folder
from ..run.events import EventWriter
from ..run.rundir import RunDir
from ..train.gpt2_weights import GPT2, HUB_NAMES
from ..train.hf_config import FILES, is_hub_name, read_pretrained
from ..train.hf_weights import GPT_KEYS, load_pretrained
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
    folder = Path(source).is_dir()
    if source not in HUB_NAMES and not folder and not is_hub_name(source):
        raise TrainerError(
            f"--from {source!r} is neither {', '.join(HUB_NAMES)} nor a folder, nor a hub name (owner/name): "
            "name one of those, or the Hugging Face folder (config.json, the weights, tokenizer.json) to use",
            "--from",
        )
    init_from = str(Path(source).resolve()) if folder else source
    pretrained = read_pretrained(source, "--from")
    model = load_pretrained(source, key="--from")
    c = model.config
    if pretrained.family == "gpt2":
        if c.vocab_size != GPT2["vocab_size"]:
            raise TrainerError(
                f"--from {source}: its vocabulary has {c.vocab_size} tokens, not GPT-2's "
                f"{GPT2['vocab_size']}, so GPT-2's tokenizer cannot read its text; name a GPT-2 folder with "
                "GPT-2's vocabulary",
                "--from",
            )
        tokenizer = {"type": "gpt2"}
    else:
        tokenizer = _folder_tokenizer(pretrained.folder)
    # run_dir is absent or empty: the export command refuses one that is not
    with new_folder(run_dir) as tmp:
        export_model(model, tmp, tokenizer, state={"pretrained": init_from}, quantize=quantize)
        model_group = {k: getattr(c, k) for k in GPT_KEYS} | {"block_size": c.block_size}
        RunDir(tmp).write_config({"model": model_group, "train": {"init_from": init_from}})
        events = EventWriter(RunDir(tmp).events)
        events.emit("done", reason="finished", iter=0)
        events.close()
    return RunDir(run_dir).onnx


def _folder_tokenizer(folder: Path) -> dict:
    """The folder's tokenizer as completion reads it (prepare/dataset.py's hf spec): its
    tokenizer.json, the folder, and the id that ends a text."""
    file = folder / FILES["tokenizer"]
    tokenizer = _json(file)
    if tokenizer is None:
        raise TrainerError(
            f"{file} is missing: completion needs the model's own tokenizer; download the model again, or "
            "name a folder with its tokenizer.json",
            "--from",
        )
    return {
        "type": "hf",
        "source": str(folder.resolve()),
        "end_of_text": _end_of_text(folder, tokenizer),
        "json": tokenizer,
    }


def _end_of_text(folder: Path, tokenizer: dict) -> int | None:
    """The rule `wordplay prepare --tokenizer <folder>` follows (src/core/prepare/hfTokenizer.ts):
    tokenizer_config.json's eos_token, else generation_config.json's eos_token_id, else
    config.json's (the first of a list); None when none names one."""
    ids = {
        **tokenizer["model"]["vocab"],
        **{t["content"]: t["id"] for t in tokenizer.get("added_tokens", [])},
    }
    eos = (_json(folder / "tokenizer_config.json") or {}).get("eos_token")
    token = eos.get("content") if isinstance(eos, dict) else eos
    if isinstance(token, str) and token in ids:
        return ids[token]
    for name in ("generation_config.json", FILES["config"]):
        value = (_json(folder / name) or {}).get("eos_token_id")
        value = value[0] if isinstance(value, list) and value else value
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _json(file: Path) -> dict | None:
    """A JSON file of the folder, None when absent."""
    try:
        value = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TrainerError(f"{file} is not valid JSON ({e}); download the model again", "--from") from None
    return value if isinstance(value, dict) else None
