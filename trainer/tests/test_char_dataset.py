"""prepare/char_dataset.py: a char dataset folder written in Python as `wordplay prepare
--tokenizer char` writes it (src/core/prepare/prepare.ts): the same four files, byte for byte,
as the real `wordplay prepare` writes (node dist/cli.js; only meta.json's `created` differs),
meta.json's fields in prepare's order, JSON as JavaScript writes it, prepare's refusals, and a
folder that appears whole. The GPU check and the tests' datasets are written with it."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import HANG_GUARD_S, TRAINER_DIR

from wordplay_trainer.common.errors import TrainerError
from wordplay_trainer.prepare.char_dataset import write_char_dataset
from wordplay_trainer.prepare.dataset import FILES, Dataset
from wordplay_trainer.prepare.shakespeare import shakespeare_text

CLI = TRAINER_DIR.parent / "dist" / "cli.js"
CREATED = re.compile(rb'"created": "[^"]*"')

# src/core/prepare/dataset.ts: DatasetMeta, in the order prepare.ts writes it
META_KEYS = [
    "source",
    "sha256",
    "tokenizer",
    "vocab_size",
    "dtype",
    "documents",
    "characters",
    "train_characters",
    "train_tokens",
    "val_tokens",
    "train_bytes",
    "val_bytes",
    "created",
]


def test_tiny_shakespeare_as_prepare_writes_it(tmp_path):
    out = tmp_path / "shakespeare-char"
    meta = write_char_dataset(shakespeare_text(), out, "input.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shakespeare-char"]  # no leftover beside it
    assert json.loads((out / "meta.json").read_text(encoding="utf-8")) == meta
    assert list(meta) == META_KEYS
    # nanoGPT's shakespeare_char/prepare.py counts, as `wordplay prepare` reports them
    ds = Dataset(out)
    assert (ds.vocab_size, ds.tokens("train"), ds.tokens("val")) == (65, 1_003_854, 111_540)
    assert meta["sha256"] == "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
    assert meta["train_bytes"] + meta["val_bytes"] == len(shakespeare_text().encode("utf-8"))
    assert meta["created"].endswith("Z") and len(meta["created"]) == len("2026-01-01T00:00:00.000Z")


def test_json_is_written_as_javascript_writes_it(tmp_path):
    text = "héllo wörld, naïve café 日本語\n" * 20
    write_char_dataset(text, tmp_path / "d", "notes.txt")
    tokenizer = (tmp_path / "d" / "tokenizer.json").read_text(encoding="utf-8")
    vocab = sorted(set(text))
    # JSON.stringify(spec, null, 2) + "\n": two-space indent, non-ASCII characters as they are
    assert tokenizer == json.dumps({"type": "char", "vocab": vocab}, indent=2, ensure_ascii=False) + "\n"
    assert "日" in tokenizer and "\\u" not in tokenizer
    meta = json.loads((tmp_path / "d" / "meta.json").read_text(encoding="utf-8"))
    split = int(len(text) * 0.9)
    assert meta["train_bytes"] == len(text[:split].encode("utf-8")) > split  # bytes, not characters


def test_a_folder_that_holds_something_is_not_replaced(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "keep.txt").write_text("mine")
    with pytest.raises(OSError):
        write_char_dataset("abcd" * 100, tmp_path / "d", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]
    assert (tmp_path / "d" / "keep.txt").read_text() == "mine"


def wordplay_prepare(source: Path, out: Path) -> subprocess.CompletedProcess:
    """`wordplay prepare --input source --tokenizer char --out out`, the built CLI under Node.js."""
    node = shutil.which("node")
    if node is None or not CLI.is_file():
        pytest.skip(f"needs Node.js on PATH and {CLI} (`npm ci && node esbuild.mjs` builds it)")
    args = [node, str(CLI), "prepare", "--input", str(source), "--tokenizer", "char", "--out", str(out)]
    return subprocess.run(args, cwd=TRAINER_DIR.parent, capture_output=True, text=True, timeout=HANG_GUARD_S)


def comparable(path: Path) -> bytes:
    """The file's bytes; meta.json's with its `created` time blanked, the one field that differs."""
    data = path.read_bytes()
    if path.name != FILES["meta"]:
        return data
    blanked, found = CREATED.subn(b'"created": ""', data)
    assert found == 1, f"{path} has no created field"
    return blanked


@pytest.mark.parametrize(
    "text",
    [
        # CRLF, two-, three- and four-byte characters, and U+FF01 beside U+1F600: code-point order,
        # which JavaScript's default sort (UTF-16 units) would reverse
        "Déjà vu, naïve café!\r\n日本語 ！ 😀 — touché\n" * 7,
        # the shortest text prepare takes: 11 characters, 9 train and 2 val, the split falling
        # after a two-byte character and before a three- and a four-byte one
        "héllo wö\n日😀",
    ],
    ids=["multi-byte", "shortest-val-split"],
)
def test_the_same_files_as_wordplay_prepare(tmp_path, text):
    source = tmp_path / "input.txt"
    source.write_bytes(text.encode("utf-8"))
    prepared = wordplay_prepare(source, tmp_path / "prepared")
    assert prepared.returncode == 0, prepared.stderr
    meta = write_char_dataset(source.read_bytes().decode("utf-8"), tmp_path / "written", str(source))
    assert meta["source"] == [str(source)]  # prepare's: the input's absolute path
    for name in FILES.values():
        assert comparable(tmp_path / "written" / name) == comparable(tmp_path / "prepared" / name), name
    val = text[len(text) * 9 // 10 :]
    assert meta["val_tokens"] == len(val) and meta["val_bytes"] == len(val.encode("utf-8"))


def test_a_text_too_short_to_split_is_refused_as_prepare_refuses_it(tmp_path):
    text = "héllo wö\n日"  # 10 characters: 9 train, 1 val
    source = tmp_path / "input.txt"
    source.write_bytes(text.encode("utf-8"))
    prepared = wordplay_prepare(source, tmp_path / "prepared")
    assert prepared.returncode != 0
    with pytest.raises(TrainerError) as refused:
        write_char_dataset(text, tmp_path / "written", str(source))
    assert refused.value.message in prepared.stderr
    assert "10 characters give 9 train and 1 val tokens" in refused.value.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.txt"]
