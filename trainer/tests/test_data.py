"""Issue 3 point 3: memmap, one vectorised gather, reproducible from the seed, resumable."""

import json

import numpy as np
import pytest
import torch
from conftest import TEXT, char_dataset

from wordplay_trainer.common.errors import TrainerError
from wordplay_trainer.prepare.dataset import Batches, Dataset

CPU = torch.device("cpu")


def test_splits_are_memmaps_of_what_meta_json_counts(dataset):
    ds = Dataset(dataset)
    assert isinstance(ds.splits["train"], np.memmap) and isinstance(ds.splits["val"], np.memmap)
    meta = json.loads((dataset / "meta.json").read_text(encoding="utf-8"))
    assert (ds.tokens("train"), ds.tokens("val")) == (meta["train_tokens"], meta["val_tokens"])
    assert ds.vocab_size == meta["vocab_size"] == len(set(TEXT))


def test_batch_is_shifted_window(dataset):
    ds = Dataset(dataset)
    b = Batches(ds, "train", 8, 4, CPU, seed=1)
    ((x, y),) = b.step(1)
    assert x.shape == (4, 8) and x.dtype == torch.int64
    assert torch.equal(x[:, 1:], y[:, :-1])
    data = torch.from_numpy(ds.splits["train"].astype(np.int64))
    for row in range(4):  # each row is a real window of train.bin
        hits = (data.unfold(0, 8, 1) == x[row]).all(1).nonzero()
        assert len(hits) >= 1


def test_reproducible_and_resumable(dataset):
    ds = Dataset(dataset)
    a, b = Batches(ds, "train", 8, 4, CPU, seed=7), Batches(ds, "train", 8, 4, CPU, seed=7)
    assert torch.equal(a.step(1)[0][0], b.step(1)[0][0])
    state = a.generator.get_state()
    nxt = a.step(2)
    c = Batches(ds, "train", 8, 4, CPU, seed=123)
    c.generator.set_state(state)
    assert all(torch.equal(p[0], q[0]) for p, q in zip(nxt, c.step(2), strict=True))


def test_ranks_share_one_draw(dataset):
    ds = Dataset(dataset)
    whole = Batches(ds, "train", 8, 2, CPU, seed=3).step(4)
    r0 = Batches(ds, "train", 8, 2, CPU, seed=3).step(4, world_size=2, rank=0)
    r1 = Batches(ds, "train", 8, 2, CPU, seed=3).step(4, world_size=2, rank=1)
    assert [torch.equal(a[0], b[0]) for a, b in zip(whole[0::2], r0, strict=True)] == [True, True]
    assert [torch.equal(a[0], b[0]) for a, b in zip(whole[1::2], r1, strict=True)] == [True, True]


def test_gather_is_vectorised(dataset, monkeypatch):
    ds = Dataset(dataset)
    b = Batches(ds, "train", 8, 16, CPU, seed=3)
    calls = []
    real = b.data

    class Spy:
        def __len__(self):
            return len(real)

        def __getitem__(self, idx):
            calls.append(np.shape(idx))
            return real[idx]

    b.data = Spy()
    b.step(1)
    assert calls == [(16, 9)]  # one fancy index for the whole batch


@pytest.mark.parametrize("damage", ["missing_dir", "missing_val", "bad_tokenizer", "truncated", "bad_ids"])
def test_bad_datasets(tmp_path, damage):
    ds = char_dataset(TEXT, tmp_path / "d")
    if damage == "missing_dir":
        ds = tmp_path / "nope"
    elif damage == "missing_val":
        (ds / "val.bin").unlink()
    elif damage == "bad_tokenizer":
        (ds / "tokenizer.json").write_text("{oops")
    elif damage == "truncated":
        with open(ds / "train.bin", "ab") as f:
            f.write(b"\x01")
    elif damage == "bad_ids":
        np.array([0, 1, 999], dtype="<u2").tofile(ds / "val.bin")
    with pytest.raises(TrainerError) as info:
        Dataset(ds)
    assert info.value.key and ("prepare" in info.value.message)


def test_block_size_vs_val_split(dataset):
    ds = Dataset(dataset)
    with pytest.raises(TrainerError) as info:
        ds.check_block_size(ds.tokens("val"))
    assert info.value.key == "model.block_size"
