"""Issue 17: the BPE tokenizer trained on the corpus (prepare/bpe.py, the tokenizer command), and
training on a BPE dataset."""

import json

import numpy as np
from conftest import by_type, read_events, run_trainer, tiny_config, write_config
from tokenizers import Tokenizer

from wordplay_trainer.commands import tokenizer
from wordplay_trainer.export.onnx_model import export_run
from wordplay_trainer.prepare import bpe
from wordplay_trainer.prepare.dataset import Dataset, end_of_text, tokenizer_kind, tokenizer_vocab_size
from wordplay_trainer.prepare.shakespeare import shakespeare_text
from wordplay_trainer.train.evaluate import sample_start


def chunks_of(tmp_path, texts, end_file, end_byte):
    files = []
    for i, text in enumerate(texts):
        files.append(tmp_path / f"{i}.txt")
        files[-1].write_bytes(text.encode())
    seen = []
    return list(bpe.training_text([str(f) for f in files], end_file, end_byte, seen.append)), sum(seen)


def test_training_text_is_the_split_cut_where_no_piece_continues(tmp_path, monkeypatch):
    monkeypatch.setattr(bpe, "READ_SIZE", 1000)
    text = shakespeare_text()[:20_000] + "  naïve café 日本語 😀\n"
    chunks, read = chunks_of(tmp_path, [text, "second document"], end_file=1, end_byte=6)
    assert "".join(chunks) == text + "second"
    assert read == len(text.encode()) + 6
    assert len(chunks) > 10
    for a, b in zip(chunks[:-2], chunks[1:-1], strict=True):
        assert b[0] == " " and not a[-1].isspace(), (a[-10:], b[:10])
    assert chunks[-1] == "second", "documents are never joined"
    # the split may end inside the first file
    chunks, _ = chunks_of(tmp_path, [text, "x"], end_file=0, end_byte=100)
    assert "".join(chunks) == text[:100]


def train_on(text: str, vocab_size: int) -> Tokenizer:
    return bpe.train(iter([text]), vocab_size)


def test_trained_tokenizer_has_the_size_asked_for_and_round_trips_bytes():
    text = shakespeare_text()[:300_000]
    tok = train_on(text, 700)
    assert tok.get_vocab_size() == 700
    assert tok.token_to_id("<|endoftext|>") == 699
    sample = "ROMEO: naïve 日本語 😀 \t\r\n  x"
    ids = tok.encode(sample).ids
    assert tok.decode(ids) == sample
    # the trained merges shorten the text: fewer ids than bytes
    assert len(tok.encode(text[:10_000]).ids) < 0.6 * len(text[:10_000].encode())


def test_a_small_text_runs_out_of_merges_before_a_large_vocabulary():
    tok = train_on("hello world hello there, hello world! " * 3, 5000)
    assert 257 < tok.get_vocab_size() < 300


def test_main_writes_tokenizer_json_and_refuses_a_too_small_vocabulary(tmp_path, capsys):
    (tmp_path / "in.txt").write_text(shakespeare_text()[:50_000])
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({"files": [str(tmp_path / "in.txt")], "end": {"file": 0, "byte": 45_000}}))
    out = tmp_path / "tokenizer.json"
    assert tokenizer.main(["--inputs", str(inputs), "--vocab-size", "300", "--out", str(out)]) == 0
    progress = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert progress[-1] == {"bytes": 45_000}
    written = json.loads(out.read_text())
    assert (tokenizer_kind(written), tokenizer_vocab_size(written), end_of_text(written)) == ("bpe", 300, 299)
    assert tokenizer.main(["--inputs", str(inputs), "--vocab-size", "256", "--out", str(out)]) == 2
    assert "at least 257" in capsys.readouterr().err


def write_bpe_dataset(text: str, out, vocab_size: int):
    """A BPE dataset as `wordplay prepare --tokenizer bpe` writes it (its TypeScript encoder gives
    tokenizers' ids, test/unit/bpe.test.ts checks)."""
    out.mkdir(parents=True)
    n = int(len(text) * 0.9)
    tok = train_on(text[:n], vocab_size)
    tok.encode_special_tokens = True
    tok.save(str(out / "tokenizer.json"))
    splits = {"train": text[:n], "val": text[n:]}
    for split, part in splits.items():
        np.array(tok.encode(part).ids, dtype="<u2").tofile(out / f"{split}.bin")
    meta = {
        "tokenizer": "bpe",
        "vocab_size": vocab_size,
        "train_tokens": len(tok.encode(splits["train"]).ids),
        "val_tokens": len(tok.encode(splits["val"]).ids),
        "train_bytes": len(splits["train"].encode()),
        "val_bytes": len(splits["val"].encode()),
    }
    (out / "meta.json").write_text(json.dumps(meta))
    return out


def test_a_bpe_dataset_trains_samples_from_endoftext_and_exports_its_tokenizer(tmp_path):
    data = write_bpe_dataset(shakespeare_text()[:200_000], tmp_path / "data", 400)
    ds = Dataset(data)
    assert ds.vocab_size == 400
    assert sample_start(ds.tokenizer) == 399
    cfg = write_config(tmp_path / "c.json", tiny_config(data))
    assert run_trainer(cfg, tmp_path / "run") == 0
    events = read_events(tmp_path / "run")
    assert all(0 <= t < 400 for e in by_type(events, "sample") for t in e["tokens"])
    assert by_type(events, "eval")[-1]["val_bpb"] > 0
    export_run(tmp_path / "run")
    model_json = json.loads((tmp_path / "run" / "model.json").read_text())
    assert model_json["tokenizer"] == json.loads((data / "tokenizer.json").read_text())
    assert model_json["vocab_size"] == 400
