"""A byte-level BPE trained on a dataset's training text, as a Hugging Face tokenizer.json (the
`tokenizer` command, commands/tokenizer.py, runs it for `wordplay prepare --tokenizer bpe`).

rustbpe (nanochat's BPE trainer, Rust) counts the text's pieces and learns the merges, streaming:
memory grows with the number of distinct pieces, not with the text. The result is written with
Hugging Face `tokenizers` as its BPE model behind Llama 3's split pattern and GPT-2's byte-level
mapping (schemas/bpe.json), the format transformers, tokenizers.js and llama.cpp's converters
read. rustbpe's ranks become the vocabulary; every way a token splits into two earlier tokens is
listed as a merge at that token's rank, with `ignore_merges`, so tokenizers encodes a piece as
rustbpe does (the lowest-ranked pair first), the way transformers converts tiktoken files.
`<|endoftext|>` takes the last id, as in GPT-2.

prepare (src/core/prepare/prepare.ts) runs it between its check and encode passes, on text it
has already checked (valid UTF-8, no NUL), and encodes the splits with the file written here.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator

from ..common.schemas import read_json

FACTS = read_json("bpe.json")
READ_SIZE = 1 << 20
# rustbpe pulls this many chunks from the iterator before it counts them: with READ_SIZE chunks
# that bounds the text held at once to 16 MB.
BUFFER_CHUNKS = 16


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte-level alphabet: each byte as a printable character (printable bytes as
    themselves, the rest shifted past U+0100), the alphabet tokenizer.json's vocabulary uses."""
    ranges = (("!", "~"), ("¡", "¬"), ("®", "ÿ"))
    printable = [b for first, last in ranges for b in range(ord(first), ord(last) + 1)]
    table = {b: chr(b) for b in printable}
    shifted = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + shifted)
            shifted += 1
    return table


def training_text(files: list[str], end_file: int, end_byte: int, progress) -> Iterator[str]:
    """The training split as text chunks. A chunk ends before a space that follows a
    non-space character, where no piece of the split pattern continues, so each piece is
    counted whole; files are never joined (a piece never spans two documents)."""
    for index, name in enumerate(files[: end_file + 1]):
        limit = end_byte if index == end_file else None
        decoder = codecs.getincrementaldecoder("utf-8")()
        carry = ""
        done = 0
        with open(name, "rb") as f:
            while limit is None or done < limit:
                raw = f.read(READ_SIZE if limit is None else min(READ_SIZE, limit - done))
                if not raw:
                    break
                done += len(raw)
                progress(len(raw))
                text = carry + decoder.decode(raw)
                cut = len(text) - 1
                while cut > 0 and not (text[cut] == " " and not text[cut - 1].isspace()):
                    cut -= 1
                if cut <= 0:
                    carry = text
                    continue
                yield text[:cut]
                carry = text[cut:]
        rest = carry + decoder.decode(b"", final=True)
        if rest:
            yield rest


def train(text: Iterator[str], vocab_size: int):
    """A tokenizers.Tokenizer learned from text: vocab_size - 1 byte-level BPE tokens (fewer when
    the text runs out of pairs to merge) and <|endoftext|> after them."""
    import rustbpe
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

    learner = rustbpe.Tokenizer()
    learner.train_from_iterator(text, vocab_size - 1, buffer_size=BUFFER_CHUNKS, pattern=FACTS["pattern"])
    ranks = dict(learner.get_mergeable_ranks())
    alphabet = bytes_to_unicode()

    def spelled(token: bytes) -> str:
        return "".join(alphabet[b] for b in token)

    merges = []
    for token in sorted(ranks, key=ranks.get):
        splits = [(token[:i], token[i:]) for i in range(1, len(token))]
        splits = [(a, b) for a, b in splits if a in ranks and b in ranks]
        splits.sort(key=lambda pair: (ranks[pair[0]], ranks[pair[1]]))
        merges += [(spelled(a), spelled(b)) for a, b in splits]
    vocab = {spelled(token): rank for token, rank in ranks.items()}
    tokenizer = Tokenizer(models.BPE(vocab, merges, ignore_merges=True))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(FACTS["pattern"]), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([AddedToken(FACTS["end_of_text"], special=True, normalized=False)])
    return tokenizer
