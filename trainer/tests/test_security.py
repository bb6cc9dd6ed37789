"""A pickle that runs code, placed wherever a checkpoint, optimizer state or pretrained weights
are looked for, is never executed: weights are read through safetensors only, and whatever
transformers reads goes through torch.load(weights_only=True). Each bait is first shown to be
live (unpickling it the unsafe way creates the marker), so a pass means the paths refused it."""

import os
from pathlib import Path

import pytest
import torch
from conftest import by_type, read_events, run_trainer

from wordplay_trainer.common.errors import TrainerError
from wordplay_trainer.export.onnx_model import export_run
from wordplay_trainer.train.gpt2_weights import from_pretrained


class Payload:
    """Unpickling this calls os.mkdir(marker): code run by a pickle."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def plant(file: Path, marker: Path) -> None:
    """A torch.save file (zip + pickle, what torch.load reads) that runs code when loaded."""
    file.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"weight": Payload(marker)}, file)
    torch.load(file, weights_only=False)  # the bait is live ...
    assert marker.is_dir()
    os.rmdir(marker)  # ... and armed again


def resume(cfg: Path, run_dir: Path) -> int:
    return run_trainer(cfg, run_dir, "train.init_from=resume", "train.max_iters=24")


@pytest.mark.parametrize("name", ["model.safetensors", "optimizer.safetensors"])
def test_a_pickle_in_place_of_a_checkpoint_file_is_refused_not_run(saved_run, tmp_path, name):
    cfg, run_dir = saved_run
    marker = tmp_path / "pwned"
    plant(run_dir / "checkpoint" / name, marker)
    assert resume(cfg, run_dir) == 1
    error = by_type(read_events(run_dir), "error")[-1]
    assert error["key"] == str(run_dir / "checkpoint" / name) and "truncated or corrupt" in error["message"]
    if name == "model.safetensors":
        with pytest.raises(TrainerError):
            export_run(run_dir)
    assert not marker.exists()


def test_pickles_beside_the_checkpoint_are_never_read(saved_run, tmp_path):
    """Where nanoGPT-style code would torch.load from: resume and export ignore them."""
    cfg, run_dir = saved_run
    marker = tmp_path / "pwned"
    for file in ["ckpt.pt", "checkpoint/optimizer.pt", "checkpoint/model.pt", "pytorch_model.bin"]:
        plant(run_dir / file, marker)
    assert resume(cfg, run_dir) == 0
    assert read_events(run_dir)[-1]["reason"] == "finished"
    assert export_run(run_dir).exists()
    assert not marker.exists()


def test_a_pickled_pretrained_folder_is_refused_not_run(tmp_path):
    """train.init_from=<a Hugging Face folder> holding pytorch_model.bin, not model.safetensors."""
    from transformers import GPT2Config

    folder = tmp_path / "gpt2-evil"
    GPT2Config(vocab_size=100, n_positions=32, n_embd=32, n_layer=1, n_head=4).save_pretrained(folder)
    marker = tmp_path / "pwned"
    plant(folder / "pytorch_model.bin", marker)
    with pytest.raises(TrainerError) as info:
        from_pretrained(str(folder))
    assert info.value.key == "train.init_from"
    assert not marker.exists()
