"""Issue 3 point 2: GPT-2 weights through transformers; logits equal within 1e-4."""

import pytest
import torch

from wordplay_trainer.errors import TrainerError
from wordplay_trainer.pretrained import from_pretrained


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=100, n_positions=32, n_embd=32, n_layer=2, n_head=4)
    model = GPT2LMHeadModel(config).eval()
    # jitter every weight: fresh layer norms are all 1 and biases all 0, which a loader that
    # dropped them would reproduce anyway
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    folder = tmp_path_factory.mktemp("gpt2-tiny")
    model.save_pretrained(folder)
    return folder, model


def test_logits_equal_transformers(hf_folder):
    folder, hf = hf_folder
    ours = from_pretrained(str(folder)).eval()
    assert ours.config.vocab_size == 100 and ours.config.padded_vocab_size == 128
    idx = torch.randint(100, (2, 20), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = hf(idx).logits
        logits, _ = ours(idx, idx)
    assert torch.allclose(logits[..., :100], expected, atol=1e-4)


def test_block_size_cropped(hf_folder):
    folder, hf = hf_folder
    ours = from_pretrained(str(folder), block_size=8).eval()
    assert ours.config.block_size == 8
    idx = torch.randint(100, (1, 8))
    with torch.no_grad():
        assert torch.allclose(ours(idx, idx)[0][..., :100], hf(idx).logits, atol=1e-4)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(TrainerError) as info:
        from_pretrained(str(tmp_path / "nothing"))
    assert info.value.key == "train.init_from"
