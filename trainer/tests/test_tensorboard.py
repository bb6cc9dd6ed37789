"""Issue 20: logging.tensorboard writes TensorBoard event files that TensorBoard's own reader reads."""

import sys

import pytest
from conftest import by_type, read_events, run_trainer, tiny_config, write_config
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def read_scalars(log_dir) -> dict[str, dict[int, float]]:
    """Every scalar in the event files under log_dir, by tag and step, as TensorBoard reads them."""
    acc = EventAccumulator(str(log_dir))
    acc.Reload()
    return {tag: {e.step: e.value for e in acc.Scalars(tag)} for tag in acc.Tags()["scalars"]}


def test_tensorboard_reads_back_the_runs_scalars(tmp_path, dataset):
    cfg = write_config(tmp_path / "c.json", tiny_config(dataset, train={"max_iters": 20, "log_interval": 5}))
    assert run_trainer(cfg, tmp_path / "run", "logging.tensorboard=true") == 0
    scalars = read_scalars(tmp_path / "run" / "tensorboard")
    events = read_events(tmp_path / "run")
    trains, evals = by_type(events, "train"), by_type(events, "eval")
    assert scalars["train/loss"] == pytest.approx({e["iter"]: e["loss"] for e in trains})
    assert scalars["lr"] == pytest.approx({e["iter"]: e["lr"] for e in trains})
    assert scalars["val/loss"] == pytest.approx({e["iter"]: e["val_loss"] for e in evals})
    assert scalars["val/bpb"] == pytest.approx({e["iter"]: e["val_bpb"] for e in evals})
    assert set(scalars["val/loss"]) == {10, 20}
    assert scalars["mfu"] == pytest.approx({e["iter"]: e["mfu"] for e in trains})  # the CPU's measured peak


def test_tensorboard_is_off_by_default_and_optional(tmp_path, dataset, monkeypatch, capsys):
    cfg = write_config(tmp_path / "c.json", tiny_config(dataset, train={"max_iters": 2}))
    assert run_trainer(cfg, tmp_path / "a") == 0
    assert not (tmp_path / "a" / "tensorboard").exists()
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    assert run_trainer(cfg, tmp_path / "b", "logging.tensorboard=true") == 0
    assert "tensorboard is missing" in capsys.readouterr().err
