"""Issue 17: every eval event carries val bits per byte (val loss x tokens / bytes / ln 2, from
meta.json's counts), so char, GPT-2 and BPE runs compare on one axis; a dataset prepared before
meta.json carried the byte counts gets none, never an invented one."""

import json
import math
import sys
import types
from pathlib import Path

import jsonschema
import pytest
from conftest import by_type, char_dataset, read_events, run_trainer, tiny_config, write_config

from wordplay_trainer.prepare.dataset import Dataset, bits_per_byte, tokens_per_byte

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "events.schema.json").read_text())

# Two- and three-byte characters, so bytes and characters (the char tokens) differ
TEXT = ("Déjà vu — the café's naïve señor said “touché”.\nAll: Speak, speak.\n\n") * 60


def without_byte_counts(dataset: Path) -> Path:
    """The dataset folder as `wordplay prepare` wrote it before meta.json carried byte counts."""
    meta = json.loads((dataset / "meta.json").read_text())
    del meta["train_bytes"], meta["val_bytes"]
    (dataset / "meta.json").write_text(json.dumps(meta))
    return dataset


def test_eval_event_carries_val_bpb(tmp_path, capsys):
    data = char_dataset(TEXT, tmp_path / "data")
    meta = json.loads((data / "meta.json").read_text())
    assert meta["val_bytes"] > meta["val_tokens"]  # the multi-byte characters count
    cfg = write_config(tmp_path / "c.json", tiny_config(data))
    assert run_trainer(cfg, tmp_path / "run") == 0
    evals = by_type(read_events(tmp_path / "run"), "eval")
    assert [e["iter"] for e in evals] == [10, 20]
    for e in evals:
        jsonschema.validate(e, SCHEMA)
        expected = e["val_loss"] * meta["val_tokens"] / meta["val_bytes"] / math.log(2)
        assert e["val_bpb"] == pytest.approx(expected, rel=1e-12)
        assert 0 < e["val_bpb"] < e["val_loss"] / math.log(2)  # more bytes than tokens
    assert f"{evals[-1]['val_bpb']:.4f} bits per byte" in capsys.readouterr().err


def test_no_val_bpb_without_byte_counts(tmp_path, dataset, capsys):
    cfg = write_config(tmp_path / "c.json", tiny_config(without_byte_counts(dataset)))
    assert run_trainer(cfg, tmp_path / "run") == 0
    evals = by_type(read_events(tmp_path / "run"), "eval")
    assert len(evals) == 2 and all("val_bpb" not in e for e in evals)
    for e in evals:
        jsonschema.validate(e, SCHEMA)
    assert "bits per byte" not in capsys.readouterr().err


def test_wandb_gets_val_bpb(tmp_path, monkeypatch):
    fake = types.SimpleNamespace(logged=[], init=lambda **kw: None)
    fake.log = fake.logged.append
    monkeypatch.setitem(sys.modules, "wandb", fake)
    data = char_dataset(TEXT, tmp_path / "data")
    cfg = write_config(tmp_path / "c.json", tiny_config(data, train={"max_iters": 10}))
    assert run_trainer(cfg, tmp_path / "run", "logging.wandb=true") == 0
    (bpb,) = [entry["val/bpb"] for entry in fake.logged if "val/loss" in entry]
    (event,) = by_type(read_events(tmp_path / "run"), "eval")
    assert bpb == event["val_bpb"]


@pytest.mark.parametrize(
    "meta",
    [
        {},
        {"val_tokens": 100},
        {"val_tokens": 100, "val_bytes": 0},
        {"val_tokens": 0, "val_bytes": 100},
        {"val_tokens": 100, "val_bytes": -3},
        {"val_tokens": 100, "val_bytes": 250.0},
        {"val_tokens": 100, "val_bytes": "250"},
        {"val_tokens": 100, "val_bytes": True},
        {"val_tokens": None, "val_bytes": 250},
    ],
)
def test_no_ratio_unless_both_counts_are_positive_integers(meta):
    assert tokens_per_byte(meta, "val") is None
    assert bits_per_byte(2.0, tokens_per_byte(meta, "val")) is None


def test_ratio_and_conversion():
    meta = {"train_tokens": 900, "train_bytes": 3600, "val_tokens": 100, "val_bytes": 250}
    assert tokens_per_byte(meta, "val") == 0.4 and tokens_per_byte(meta, "train") == 0.25
    assert bits_per_byte(math.log(2), 0.4) == pytest.approx(0.4)
    assert bits_per_byte(float("nan"), 0.4) is None and bits_per_byte(float("inf"), 0.4) is None


def test_dataset_reads_the_ratio(tmp_path, dataset):
    old = Dataset(without_byte_counts(dataset))
    assert old.val_tokens_per_byte is None and old.val_bits_per_byte(1.5) is None
    ds = Dataset(char_dataset(TEXT, tmp_path / "bytes"))
    assert ds.val_tokens_per_byte == ds.meta["val_tokens"] / ds.meta["val_bytes"]
    assert ds.val_bits_per_byte(1.5) == pytest.approx(1.5 * ds.val_tokens_per_byte / math.log(2))
