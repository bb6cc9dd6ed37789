"""train.keep_exports (issue 19): the keep rule, a folder that never holds more than N whole
exports, and a real run's kept export that onnxruntime loads and completes with."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from conftest import run_trainer, tiny_config, write_config

from wordplay_trainer.export.kept_exports import folder_name, keep_export, kept, to_drop


def test_to_drop_keeps_the_first_and_the_latest_evenly_spread():
    assert to_drop([100, 200, 300], 3) == []
    assert to_drop([100, 200, 300, 400], 3) == [200]
    # 100 .. 1000 down to 4: the ends stay, the middle ones thin out evenly
    evals = list(range(100, 1001, 100))
    left = sorted(set(evals) - set(to_drop(evals, 4)))
    assert left[0] == 100 and left[-1] == 1000 and len(left) == 4
    gaps = np.diff(left)
    assert gaps.max() <= 2 * gaps.min(), left
    assert to_drop([100, 200, 300], 1) == [100, 200]


def test_to_drop_applied_at_every_evaluation_stays_spread():
    """As the trainer applies it: one export per evaluation, the rule after each."""
    held: list[int] = []
    for it in range(50, 5001, 50):
        held.append(it)
        for gone in to_drop(held, 5):
            held.remove(gone)
        assert len(held) <= 5 and held[-1] == it
    assert held[0] == 50
    gaps = np.diff(held)
    assert gaps.max() <= 3 * gaps.min(), held


def _fake_write(out: Path) -> None:
    out.mkdir()
    (out / "model.json").write_text("{}")


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_folder_never_holds_more_than_n(tmp_path, limit):
    exports = tmp_path / "exports"
    for it in range(10, 201, 10):
        final = keep_export(exports, it, limit, _fake_write)
        assert final.name == folder_name(it) and (final / "model.json").is_file()
        names = sorted(p.name for p in exports.iterdir())
        assert len(names) <= limit, names  # no .tmp-* or .drop-* left either
        assert max(kept(exports)) == it


def test_a_failed_export_leaves_no_folder(tmp_path):
    exports = tmp_path / "exports"
    keep_export(exports, 10, 2, _fake_write)

    def broken(out: Path) -> None:
        out.mkdir()
        (out / "model.onnx").write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        keep_export(exports, 20, 2, broken)
    assert sorted(p.name for p in exports.iterdir()) == [folder_name(10)]


def test_exports_after_a_resume_point_go(tmp_path):
    exports = tmp_path / "exports"
    for it in (10, 20, 30):
        keep_export(exports, it, 4, _fake_write)
    keep_export(exports, 20, 4, _fake_write)  # resumed from the checkpoint of iteration 10
    assert sorted(kept(exports)) == [10, 20]


def _greedy(onnx_path: Path, meta: dict, prompt: list[int], steps: int) -> list[int]:
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    a = meta["architecture"]
    ids = list(prompt)
    for _ in range(steps):
        window = ids[-a["block_size"] :]
        feeds = {
            "input_ids": np.array([window], dtype=np.int64),
            "position_ids": np.arange(len(window), dtype=np.int64)[None, :],
            "all_positions": np.array(False),
        }
        for name in meta["inputs"][2:]:
            feeds[name] = np.zeros((1, 0, a["n_embd"]), dtype=np.float32)
        logits = sess.run(["logits"], feeds)[0]
        assert logits.shape == (1, a["vocab_size"]) and np.isfinite(logits).all()
        ids.append(int(logits[0].argmax()))
    return ids[len(prompt) :]


def test_training_keeps_n_exports_that_complete(tmp_path, dataset):
    run_dir = tmp_path / "run"
    cfg = tiny_config(dataset, train={"max_iters": 50, "eval_interval": 10, "keep_exports": 3})
    assert run_trainer(write_config(tmp_path / "c.json", cfg), run_dir) == 0
    held = kept(run_dir / "exports")
    # evaluations at 10 .. 50; three kept: the first, one between, the latest
    assert sorted(held) == [10, 30, 50]
    assert sorted(p.name for p in (run_dir / "exports").iterdir()) == [folder_name(i) for i in (10, 30, 50)]
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    val = {e["iter"]: e["val_loss"] for e in events if e["type"] == "eval"}
    texts = []
    for it, folder in sorted(held.items()):
        meta = json.loads((folder / "model.json").read_text())
        assert meta["iter"] == it and meta["val_loss"] == pytest.approx(val[it])
        texts.append(_greedy(folder / "model.onnx", meta, [0, 1, 2], 8))
    assert all(len(t) == 8 for t in texts)
    # each is its own iteration's model, not the latest copied three times
    assert (held[10] / "model.onnx").read_bytes() != (held[50] / "model.onnx").read_bytes()


def test_keep_exports_is_bounded_by_the_schema(tmp_path, dataset):
    from wordplay_trainer.common.errors import ConfigError
    from wordplay_trainer.train.config import load_config

    cfg = tiny_config(dataset, train={"keep_exports": 9})
    with pytest.raises(ConfigError, match="keep_exports"):
        load_config(str(write_config(tmp_path / "c.json", cfg)))
