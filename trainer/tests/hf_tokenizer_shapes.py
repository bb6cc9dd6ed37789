"""Small tokenizers in the shapes of today's open model families, trained in the test with Hugging
Face `tokenizers` and saved as a model folder saves them (tokenizer.json, tokenizer_config.json):
what `wordplay prepare --tokenizer <folder>` and completion read. Used by test_hf_tokenizer.py and,
run as a script, by the TypeScript tests (test/unit/tokenizerHf.test.ts), which compare their ids
with these:

    python hf_tokenizer_shapes.py folders <out>           every shape below, one folder each
    python hf_tokenizer_shapes.py ids <tokenizer.json> <text file>   {"ids": the ids Python gives,
                                                    "decoded": those ids decoded}, as JSON

The shapes: qwen (NFC, Split + ByteLevel, <|endoftext|> <|im_start|> <|im_end|>), llama3 (Split +
ByteLevel, ignore_merges, <|begin_of_text|> <|end_of_text|>, eos in generation_config.json only),
smollm2 (Digits + ByteLevel with its own regex, special tokens first), big (more than 65,535
entries: every real token's id above them), and the ones wordplay refuses: llama2 (SentencePiece
style: Prepend/Replace normalizer, byte fallback), wordpiece and unigram.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

_WORDS = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|"
_REST = r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN_PATTERN = _WORDS + r"\p{N}" + _REST  # digits one by one
LLAMA3_PATTERN = _WORDS + r"\p{N}{1,3}" + _REST  # digits three by three
BIG_OFFSET = 70_000  # the big shape's real tokens start here, so every id it gives needs uint32


def corpus() -> str:
    """A few hundred KB of prose, code, scripts, digits and whitespace of every kind."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from wordplay_trainer.prepare.shakespeare import shakespeare_text

    code = (Path(__file__).resolve().parents[1] / "wordplay_trainer" / "train" / "model.py").read_text()
    extra = "naïve café Straße ΚΑΛΗΜΕΡΑ привет 日本語のテキスト 한국어 العربية 😀 👍🏽 x² ½ 3.14 1,000\t\r\n"
    return shakespeare_text()[:200_000] + code + extra * 20


def _byte_level_bpe(pre_tokenizer, specials: list[str], vocab_size: int, **model) -> Tokenizer:
    tok = Tokenizer(models.BPE(**model))
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([corpus()], trainer)
    return tok


def _save(tok: Tokenizer, out: Path, config: dict, generation: dict | None = None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    if generation is not None:
        (out / "generation_config.json").write_text(json.dumps(generation, indent=2))
    return out


def qwen(out: Path) -> Path:
    """Qwen2/Qwen3: NFC, Split(Qwen's pattern, isolated) + ByteLevel(use_regex=false); its special
    tokens added after the vocabulary, <think> a plain added token."""
    tok = _byte_level_bpe(
        pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
            ]
        ),
        [],
        700,
    )
    tok.normalizer = normalizers.NFC()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tok.add_tokens([AddedToken("<think>", normalized=False, special=False)])
    return _save(tok, out, {"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "bos_token": None})


def llama3(out: Path) -> Path:
    """Llama 3: Split(Llama 3's pattern) + ByteLevel(use_regex=false), ignore_merges,
    <|begin_of_text|> added by the post-processor; the end of text named by generation_config.json."""
    tok = _byte_level_bpe(
        pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
            ]
        ),
        [],
        800,
        ignore_merges=True,
    )
    tok.add_special_tokens(["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>"])
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence(
        [
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(
                single="<|begin_of_text|> $A",
                pair="<|begin_of_text|> $A <|begin_of_text|> $B",
                special_tokens=[("<|begin_of_text|>", bos)],
            ),
        ]
    )
    return _save(
        tok,
        out,
        {"bos_token": "<|begin_of_text|>"},
        {"bos_token_id": bos, "eos_token_id": [bos + 1, bos + 2]},
    )


def smollm2(out: Path) -> Path:
    """SmolLM2: Digits(individual_digits) + ByteLevel(its GPT-2 regex), its special tokens at ids 0.."""
    tok = _byte_level_bpe(
        pre_tokenizers.Sequence(
            [
                pre_tokenizers.Digits(individual_digits=True),
                pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
            ]
        ),
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<file_sep>"],
        600,
    )
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return _save(
        tok, out, {"eos_token": {"content": "<|endoftext|>", "special": True}, "bos_token": "<|endoftext|>"}
    )


def big(out: Path) -> Path:
    """A byte-level BPE of more than 65,535 entries: fillers at ids 0..BIG_OFFSET-1 that no text
    gives, every real token above them, and <|endoftext|> last."""
    tok = _byte_level_bpe(
        pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        ),
        [],
        400,
    )
    spec = json.loads(tok.to_str())
    vocab = {f"<filler_{i}>": i for i in range(BIG_OFFSET)}
    vocab.update({t: i + BIG_OFFSET for t, i in spec["model"]["vocab"].items()})
    spec["model"]["vocab"] = vocab
    spec["added_tokens"] = [
        {
            "id": len(vocab),
            "content": "<|endoftext|>",
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
    ]
    out.mkdir(parents=True, exist_ok=True)
    (out / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False))
    (out / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<|endoftext|>"}))
    return out


def llama2(out: Path) -> Path:
    """Llama 2 / TinyLlama: a SentencePiece-style BPE (▁ for spaces, byte fallback): refused."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    specials = ["<unk>", "<s>", "</s>", *(f"<0x{b:02X}>" for b in range(256))]
    tok.train_from_iterator(
        [corpus()[:50_000]], trainers.BpeTrainer(vocab_size=600, special_tokens=specials, show_progress=False)
    )
    return _save(tok, out, {"eos_token": "</s>", "bos_token": "<s>"})


def wordpiece(out: Path) -> Path:
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(
        [corpus()[:50_000]],
        trainers.WordPieceTrainer(vocab_size=500, special_tokens=["[UNK]", "[SEP]"], show_progress=False),
    )
    return _save(tok, out, {"eos_token": "[SEP]"})


def unigram(out: Path) -> Path:
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(
        [corpus()[:50_000]],
        trainers.UnigramTrainer(
            vocab_size=300, special_tokens=["</s>"], unk_token="</s>", show_progress=False
        ),
    )
    return _save(tok, out, {"eos_token": "</s>"})


SHAPES = {"qwen": qwen, "llama3": llama3, "smollm2": smollm2, "big": big, "llama2": llama2,
          "wordpiece": wordpiece, "unigram": unigram}  # fmt: skip


def python_ids(tokenizer_file: Path, text: str) -> list[int]:
    """The ids `tokenizers` gives text, as prepare encodes it: no special tokens added around it,
    added tokens in it recognised."""
    return Tokenizer.from_file(str(tokenizer_file)).encode(text, add_special_tokens=False).ids


if __name__ == "__main__":
    if sys.argv[1] == "folders":
        for name, make in SHAPES.items():
            make(Path(sys.argv[2]) / name)
    else:
        file = Path(sys.argv[2])
        with open(sys.argv[3], encoding="utf-8", newline="") as f:  # "\r\n" as it is
            text = f.read()
        ids = python_ids(file, text)
        decoded = Tokenizer.from_file(str(file)).decode(ids, skip_special_tokens=False)
        print(json.dumps({"ids": ids, "decoded": decoded}))
