"""Issue 29: a dataset prepared with a Hugging Face model folder's tokenizer (`wordplay prepare
--tokenizer <folder>`): the folder's tokenizer.json read with `tokenizers`, ids as wide as
meta.json's dtype says (uint32 past 65,535 entries), the end of text meta.json names, and the
refusals. test/unit/tokenizerHf.test.ts holds the TypeScript side (prepare's ids are these)."""

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import by_type, read_events, run_trainer, tiny_config, write_config
from hf_tokenizer_shapes import BIG_OFFSET, big, python_ids, qwen

from wordplay_trainer.common.errors import TrainerError
from wordplay_trainer.export.onnx_model import export_run
from wordplay_trainer.prepare.dataset import Batches, Dataset, end_of_text, tokenizer_kind
from wordplay_trainer.prepare.shakespeare import shakespeare_text
from wordplay_trainer.train.evaluate import sample_start

TEXT = shakespeare_text()[:20_000] + "naïve café <|endoftext|> 😀 x² 12345\n"


def write_hf_dataset(folder, out, dtype="uint32", text=TEXT, eot=None):
    """A dataset as `wordplay prepare --tokenizer <folder>` writes it from one document: the
    folder's tokenizer.json copied, nanoGPT's split by characters, each half encoded alone."""
    out.mkdir(parents=True)
    shutil.copyfile(folder / "tokenizer.json", out / "tokenizer.json")
    n = int(len(text) * 0.9)
    ids = {
        "train": python_ids(folder / "tokenizer.json", text[:n]),
        "val": python_ids(folder / "tokenizer.json", text[n:]),
    }
    for split, part in ids.items():
        np.array(part, dtype={"uint16": "<u2", "uint32": "<u4"}.get(dtype, "<u2")).tofile(
            out / f"{split}.bin"
        )
    meta = {
        "tokenizer": "hf",
        "tokenizer_source": str(folder),
        "dtype": dtype,
        "end_of_text": eot,
        "train_tokens": len(ids["train"]),
        "val_tokens": len(ids["val"]),
    }
    (out / "meta.json").write_text(json.dumps({k: v for k, v in meta.items() if v is not None}))
    return out, ids


def test_ids_past_uint16_come_back_whole_with_the_folders_tokenizer(tmp_path):
    folder = big(tmp_path / "big")
    data, ids = write_hf_dataset(folder, tmp_path / "data", eot=BIG_OFFSET + 400)
    ds = Dataset(data)
    assert tokenizer_kind(ds.tokenizer) == "hf"
    assert ds.tokenizer["json"] == json.loads((folder / "tokenizer.json").read_text())  # verbatim
    assert ds.tokenizer["source"] == str(folder)
    assert ds.vocab_size == BIG_OFFSET + 401 and ds.dtype == np.dtype("<u4")
    assert min(ids["train"]) > 65_535
    assert ds.splits["train"].tolist() == ids["train"] and ds.splits["val"].tolist() == ids["val"]
    assert end_of_text(ds.tokenizer) == sample_start(ds.tokenizer) == BIG_OFFSET + 400
    x, y = Batches(ds, "train", 8, 2, torch.device("cpu"), 0).step(1)[0]
    assert x.dtype == torch.int64 and int(x.min()) > 65_535  # no id cut to 16 bits on the way


def test_meta_jsons_dtype_is_followed_and_older_datasets_go_by_the_vocabulary(tmp_path):
    folder = qwen(tmp_path / "qwen")
    data, ids = write_hf_dataset(folder, tmp_path / "wide", dtype="uint32")
    assert Dataset(data).splits["val"].tolist() == ids["val"]  # 704 tokens, yet uint32 as meta.json says
    narrow, ids = write_hf_dataset(folder, tmp_path / "narrow", dtype="uint16")
    meta = json.loads((narrow / "meta.json").read_text())
    del meta["dtype"]  # prepared before meta.json said
    (narrow / "meta.json").write_text(json.dumps(meta))
    assert Dataset(narrow).splits["val"].tolist() == ids["val"]


def test_the_end_of_text_is_meta_jsons_and_a_sample_without_one_starts_at_a_newline(tmp_path):
    folder = qwen(tmp_path / "qwen")
    data, _ = write_hf_dataset(folder, tmp_path / "data", eot=701)
    assert end_of_text(Dataset(data).tokenizer) == 701  # <|im_start|>: meta.json's, not a fixed name
    none, _ = write_hf_dataset(folder, tmp_path / "none")
    spec = Dataset(none).tokenizer
    assert end_of_text(spec) is None
    assert sample_start(spec) == python_ids(folder / "tokenizer.json", "\n")[0]


@pytest.mark.parametrize(
    "meta, fragment",
    [
        ({"dtype": "int8"}, "dtype 'int8'"),
        ({"tokenizer_source": None}, "lacks tokenizer_source"),
        ({"end_of_text": "<|endoftext|>"}, "end_of_text that is not an id"),
    ],
)
def test_a_damaged_meta_json_is_refused_naming_it(tmp_path, meta, fragment):
    data, _ = write_hf_dataset(qwen(tmp_path / "qwen"), tmp_path / "data")
    written = json.loads((data / "meta.json").read_text())
    (data / "meta.json").write_text(json.dumps({**written, **meta}))
    with pytest.raises(TrainerError, match=fragment) as e:
        Dataset(data)
    assert e.value.key == str(data / "meta.json")


def test_uint16_for_a_vocabulary_past_it_and_an_unreadable_tokenizer_are_refused(tmp_path):
    folder = big(tmp_path / "big")
    data, _ = write_hf_dataset(folder, tmp_path / "data", dtype="uint32")
    meta = json.loads((data / "meta.json").read_text())
    (data / "meta.json").write_text(json.dumps({**meta, "dtype": "uint16"}))
    with pytest.raises(TrainerError, match="more than uint16 holds"):
        Dataset(data)
    (data / "meta.json").write_text(json.dumps(meta))
    spec = json.loads((data / "tokenizer.json").read_text())
    (data / "tokenizer.json").write_text(json.dumps({**spec, "model": {**spec["model"], "type": "Bogus"}}))
    with pytest.raises(TrainerError, match="cannot be read by the tokenizers library") as e:
        Dataset(data)
    assert e.value.key == str(data / "tokenizer.json")


def test_a_run_on_a_model_folders_tokenizer_samples_its_ids_and_exports_its_spec(tmp_path):
    folder = qwen(tmp_path / "qwen")
    data, _ = write_hf_dataset(folder, tmp_path / "data", eot=700)
    cfg = write_config(tmp_path / "c.json", tiny_config(data))
    assert run_trainer(cfg, tmp_path / "run") == 0
    samples = by_type(read_events(tmp_path / "run"), "sample")
    assert samples and all(0 <= t < 704 for e in samples for t in e["tokens"])
    export_run(tmp_path / "run")
    model_json = json.loads((tmp_path / "run" / "model.json").read_text())
    assert model_json["tokenizer"] == Dataset(data).tokenizer  # what completion reads (tokenizer.ts)
    assert model_json["vocab_size"] == 704
