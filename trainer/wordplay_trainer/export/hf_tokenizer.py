"""A run's tokenizer (state.json's dict: prepare/dataset.py's char, bpe and gpt2) as a Hugging Face fast
tokenizer, whose save_pretrained writes the tokenizer.json + tokenizer_config.json that
`AutoTokenizer.from_pretrained` loads without custom code.

- char: tokenizers' BPE model over the vocabulary with no merges and no pre-tokenizer: the text
  is one word, split into its characters (code points, as prepare splits them), each looked up
  alone; decoders.Fuse joins the tokens without spaces. A character outside the vocabulary is
  dropped (the BPE model has no unknown token): wordplay's own tokenizer refuses such text, and
  an unknown token's id would index a row the model's embedding does not have.
- bpe: the dict already is a tokenizer.json (prepare/bpe.py wrote it), read as it is; hf (a
  model folder's tokenizer, `prepare --tokenizer <folder>`) carries the folder's, likewise.
- gpt2: GPT-2's vocab.json + merges.txt (schemas/gpt2.json's tokenizer_files) from a folder,
  converted as GPT2TokenizerFast converts them. The Python side has no GPT-2 vocabulary of its
  own: the Node CLI (`wordplay export`) writes that folder from js-tiktoken's ranks and passes it
  as --gpt2-tokenizer.

<|endoftext|>, where the vocabulary has it (bpe, gpt2), is the end and start of text.
"""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Tokenizer, decoders, models

from ..common.errors import TrainerError
from ..common.schemas import read_json
from ..prepare.dataset import end_of_text, tokenizer_json, tokenizer_kind

# GPT-2's BPE as two files, the ones src/core/prepare/gpt2Files.ts writes for --gpt2-tokenizer
TOKENIZER_FILES = read_json("gpt2.json")["tokenizer_files"]
GPT2_FILES = (TOKENIZER_FILES["vocab"], TOKENIZER_FILES["merges"])


def backend_tokenizer(tokenizer: dict, gpt2_folder: Path | None) -> Tokenizer:
    """The `tokenizers` Tokenizer that encodes and decodes as `tokenizer` does."""
    kind = tokenizer_kind(tokenizer)
    if kind == "char":
        chars = Tokenizer(models.BPE({ch: i for i, ch in enumerate(tokenizer["vocab"])}, []))
        chars.decoder = decoders.Fuse()
        return chars
    if kind in ("bpe", "hf"):
        return Tokenizer.from_str(json.dumps(tokenizer_json(tokenizer)))
    if gpt2_folder is None or not all((Path(gpt2_folder) / name).is_file() for name in GPT2_FILES):
        where = "no folder was given" if gpt2_folder is None else f"{gpt2_folder} lacks them"
        raise TrainerError(
            f"this run's tokenizer is GPT-2's, whose {' and '.join(GPT2_FILES)} the export needs, but "
            f"{where}: export with the Node CLI, `wordplay export --run <dir> --format hf --out <folder>`, "
            "which writes them (or pass --gpt2-tokenizer with a folder that holds them)",
            "--gpt2-tokenizer",
        )
    from transformers import GPT2TokenizerFast

    folder = Path(gpt2_folder)
    return GPT2TokenizerFast(
        vocab_file=str(folder / GPT2_FILES[0]), merges_file=str(folder / GPT2_FILES[1])
    ).backend_tokenizer


def fast_tokenizer(tokenizer: dict, gpt2_folder: Path | None, model_max_length: int):
    """A PreTrainedTokenizerFast for `tokenizer`, its context length `model_max_length`."""
    from transformers import PreTrainedTokenizerFast

    backend = backend_tokenizer(tokenizer, gpt2_folder)
    eot = end_of_text(tokenizer)
    special = (
        {} if eot is None else {"bos_token": backend.id_to_token(eot), "eos_token": backend.id_to_token(eot)}
    )
    return PreTrainedTokenizerFast(tokenizer_object=backend, model_max_length=model_max_length, **special)
