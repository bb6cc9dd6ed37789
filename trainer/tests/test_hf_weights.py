"""Issue 29, weights in: tiny random Llama, Qwen2 and Qwen3 folders written by transformers
(hf_models.py) in our GPT (train/hf_weights.py) with transformers' logits (full sequence, a cropped
context, token by token through the cache); fine-tuned from a dataset of the folder's tokenizer,
resumed; `export --from` such a folder; and each bad folder refused, naming the file or key, with
nothing written."""

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import by_type, last_error, read_events, run_trainer, write_config
from hf_models import write_dataset, write_model, write_tokenizer
from safetensors.torch import load_file, save_file

from wordplay_trainer.commands import export
from wordplay_trainer.common.errors import TrainerError
from wordplay_trainer.export.onnx_run import cached_steps, open_session
from wordplay_trainer.train.checkpoint import load_model
from wordplay_trainer.train.hf_weights import load_pretrained

FAMILIES = ("llama", "qwen2", "qwen3")
TOL = 1e-4


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Each family's folder and its transformers model, written once."""
    root = tmp_path_factory.mktemp("hf")
    return {family: write_model(family, root / family) for family in FAMILIES}


def logits_difference(ours, hf, ids: torch.Tensor) -> float:
    with torch.no_grad():
        expected = hf(ids).logits
        got = ours(ids, ids)[0][..., : expected.size(-1)]
    return float((got - expected).abs().max())


@pytest.mark.parametrize("family", FAMILIES)
def test_logits_equal_transformers(folders, family):
    folder, hf = folders[family]
    ours = load_pretrained(str(folder)).eval()
    c = ours.config
    assert (c.vocab_size, c.padded_vocab_size, c.block_size) == (304, 320, 64)
    assert c.n_kv_head == 2 and c.head_dim == (24 if family == "qwen3" else 16)
    assert ours.transformer.wte.weight[304:].abs().sum() == 0  # the padding rows
    ids = torch.randint(300, (2, 64), generator=torch.Generator().manual_seed(1))
    full = logits_difference(ours, hf, ids)
    cropped = load_pretrained(str(folder), block_size=16).eval()
    assert cropped.config.block_size == 16
    crop = logits_difference(cropped, hf, ids[:, :16].contiguous())
    # token by token through our KV cache, as completion steps
    with torch.no_grad():
        expected = hf(ids[:1]).logits[0]
        past, steps = ours.empty_cache(1), []
        for t in range(64):
            logits, past = ours.forward_cached(ids[:1, t : t + 1], torch.tensor([[t]]), past)
            steps.append(logits[0])
    cached = float((torch.stack(steps) - expected).abs().max())
    print(f"{family}: max |logit difference| full {full:.2e}, cropped {crop:.2e}, cached {cached:.2e}")
    assert max(full, crop, cached) <= TOL


def test_sharded_safetensors_load_as_one_file(folders, tmp_path):
    _, hf = folders["qwen2"]
    hf.save_pretrained(tmp_path, safe_serialization=True, max_shard_size="50KB")
    assert (tmp_path / "model.safetensors.index.json").is_file() and not (
        tmp_path / "model.safetensors"
    ).exists()
    ids = torch.randint(300, (1, 32), generator=torch.Generator().manual_seed(2))
    assert logits_difference(load_pretrained(str(tmp_path)).eval(), hf, ids) <= TOL


# ---- fine-tuning from the folder -------------------------------------------------------------


def finetune_config(tmp_path, folder, dataset, **train) -> object:
    cfg = {
        "data": {"dataset": str(dataset)},
        "model": {"block_size": 32},
        "train": {
            "init_from": str(folder),
            "batch_size": 4,
            "max_iters": 12,
            "eval_interval": 6,
            "eval_iters": 2,
            "log_interval": 1,
            "sample_tokens": 4,
            "device": "cpu",
            "dtype": "float32",
            "compile": "false",
            **train,
        },
        "optimizer": {"learning_rate": 0.003, "min_lr": 0.0003, "warmup_iters": 2},
    }
    return write_config(tmp_path / "c.json", cfg)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_short_finetune_lowers_the_loss_and_resumes(folders, family, tmp_path, capsys):
    folder, _ = folders[family]
    cfg = finetune_config(tmp_path, folder, write_dataset(folder, tmp_path / "data"))
    run_dir = tmp_path / "run"
    assert run_trainer(cfg, run_dir) == 0
    events = read_events(run_dir)
    losses = [e["loss"] for e in by_type(events, "train")]
    evals = [e["val_loss"] for e in by_type(events, "eval")]
    assert np.mean(losses[-3:]) < np.mean(losses[:3]) and evals[-1] < evals[0]
    # config.json holds the folder's shape, so every view shows the real model
    model = json.loads((run_dir / "config.json").read_text())["model"]
    assert (model["n_kv_head"], model["head_dim"], model["position"], model["block_size"]) == (
        2,
        24 if family == "qwen3" else 16,
        "rope",
        32,
    )
    assert model["qk_norm"] is (family == "qwen3") and model["attn_bias"] is (family == "qwen2")
    if family != "qwen3":
        return
    # resumed as the extension resumes it: the run's own config.json
    capsys.readouterr()
    assert run_trainer(run_dir / "config.json", run_dir, "train.init_from=resume", "train.max_iters=18") == 0
    assert "ignored" not in capsys.readouterr().err  # the config matches the checkpoint's model
    events = read_events(run_dir)
    assert events[-1]["reason"] == "finished" and by_type(events, "checkpoint")[-1]["iter"] == 18
    resumed, state = load_model(run_dir)
    assert state["model_args"]["head_dim"] == 24 and state["model_args"]["rope_base"] == 1e6
    assert resumed.config.qk_norm and resumed.config.block_size == 32


def test_a_null_key_is_not_reported_as_differing_on_resume(tmp_path, capsys):
    from conftest import TEXT, char_dataset, tiny_config

    cfg = write_config(
        tmp_path / "c.json", tiny_config(char_dataset(TEXT, tmp_path / "data"), train={"max_iters": 4})
    )
    assert run_trainer(cfg, tmp_path / "run") == 0
    capsys.readouterr()
    assert run_trainer(cfg, tmp_path / "run", "train.init_from=resume", "train.max_iters=6") == 0
    assert "ignored" not in capsys.readouterr().err
    assert (
        run_trainer(cfg, tmp_path / "run", "train.init_from=resume", "train.max_iters=8", "model.n_kv_head=1")
        == 0
    )
    assert "(n_kv_head ignored)" in capsys.readouterr().err


# ---- export --from a folder ------------------------------------------------------------------


def test_export_from_a_folder_completes_as_transformers(tmp_path, capsys):
    # the tokenizer's 300 rows: until the export takes a model with rows past its tokenizer's
    folder, hf = write_model("qwen3", tmp_path / "qwen3", pad_vocab=False)
    run_dir = tmp_path / "runs" / "qwen3-pretrained"
    assert export.main(["--from", str(folder), "--run", str(run_dir)]) == 0
    assert capsys.readouterr().out.strip() == str(run_dir / "model.onnx")
    meta = json.loads((run_dir / "model.json").read_text())
    tokenizer = json.loads((folder / "tokenizer.json").read_text())
    assert meta["tokenizer"]["type"] == "hf" and meta["tokenizer"]["json"] == tokenizer
    assert meta["tokenizer"]["end_of_text"] == 0 and meta["pretrained"] == str(folder.resolve())
    config = json.loads((run_dir / "config.json").read_text())
    assert config["train"] == {"init_from": str(folder.resolve())}
    assert (config["model"]["head_dim"], config["model"]["block_size"]) == (24, 64)
    ids = torch.randint(0, 300, (1, 12), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = hf(ids).logits[0].numpy()
    steps = list(
        cached_steps(open_session(run_dir / "model.onnx"), meta, ids[:, :4].numpy(), ids[:, 4:].numpy())
    )
    got = np.stack([s[0] for s in steps])
    assert np.abs(got[:, :300] - expected[3:]).max() <= TOL


# ---- refusals --------------------------------------------------------------------------------


def copy_of(folder, tmp_path, name="copy"):
    return shutil.copytree(folder, tmp_path / name)


def edit_config(folder, **changes):
    file = folder / "config.json"
    file.write_text(json.dumps({**json.loads(file.read_text()), **changes}))


def refused(source: str) -> TrainerError:
    with pytest.raises(TrainerError) as info:
        load_pretrained(source)
    assert info.value.key == "train.init_from"
    return info.value


def test_weights_that_do_not_match_their_config_are_refused_naming_tensor_and_key(folders, tmp_path):
    folder = copy_of(folders["llama"][0], tmp_path)
    edit_config(folder, intermediate_size=128)
    message = refused(str(folder)).message
    assert "model.layers.0.mlp.down_proj.weight is [64, 96], but its config.json gives [64, 128]" in message
    assert "(hidden_size 64 by intermediate_size 128)" in message and str(folder) in message
    edit_config(folder, intermediate_size=96, num_key_value_heads=4)
    assert (
        "self_attn.k_proj.weight is [32, 64], but its config.json gives [64, 64] (num_key_value_heads 4"
        in (refused(str(folder)).message)
    )


def test_a_head_tied_or_not_as_config_json_says(folders, tmp_path):
    llama = copy_of(folders["llama"][0], tmp_path, "tied")  # tie_word_embeddings true
    weights = load_file(str(llama / "model.safetensors"))
    weights["lm_head.weight"] = weights["model.embed_tokens.weight"].clone()
    save_file(weights, str(llama / "model.safetensors"), metadata={"format": "pt"})
    load_pretrained(str(llama))  # the same tensor written twice is the tied head
    weights["lm_head.weight"] = weights["lm_head.weight"] + 1
    save_file(weights, str(llama / "model.safetensors"), metadata={"format": "pt"})
    assert "tie_word_embeddings is true in its config.json, yet the weights hold an lm_head.weight" in (
        refused(str(llama)).message
    )
    qwen3 = copy_of(folders["qwen3"][0], tmp_path, "untied")
    edit_config(qwen3, tie_word_embeddings=False)
    assert "tie_word_embeddings is false in its config.json, yet the weights have no lm_head.weight" in (
        refused(str(qwen3)).message
    )


def test_pickled_weights_are_refused_never_loaded(folders, tmp_path):
    from test_security import plant

    folder = copy_of(folders["qwen2"][0], tmp_path)
    (folder / "model.safetensors").unlink()
    marker = tmp_path / "pwned"
    plant(folder / "pytorch_model.bin", marker)
    message = refused(str(folder)).message
    assert f"{folder / 'pytorch_model.bin'} is a pickle" in message and "safetensors" in message
    assert not marker.exists()


def nothing_written(run_dir) -> bool:
    """The run failed with an error event, and wrote no checkpoint and no model."""
    return not any((run_dir / name).exists() for name in ("checkpoint", "model.onnx", "model.json"))


def test_a_folder_without_config_json_is_refused_before_the_run(folders, tmp_path):
    folder = copy_of(folders["llama"][0], tmp_path)
    (folder / "config.json").unlink()
    cfg = finetune_config(tmp_path, folder, write_dataset(folder, tmp_path / "data"))
    assert run_trainer(cfg, tmp_path / "run") == 1
    error = last_error(tmp_path / "run")
    assert error["key"] == "train.init_from" and f"{folder / 'config.json'} is missing" in error["message"]
    assert nothing_written(tmp_path / "run") and not (tmp_path / "run" / "config.json").exists()


def test_a_dataset_of_another_tokenizer_is_refused_naming_both(folders, tmp_path):
    folder = folders["llama"][0]
    other = tmp_path / "other"
    write_tokenizer(other, text="an entirely different text, for another tokenizer " * 50)
    cfg = finetune_config(tmp_path, folder, write_dataset(other, tmp_path / "data"))
    assert run_trainer(cfg, tmp_path / "run") == 1
    error = last_error(tmp_path / "run")
    assert error["key"] == "data.dataset"
    assert str(tmp_path / "data" / "tokenizer.json") in error["message"]
    assert str(folder / "tokenizer.json") in error["message"]
    assert f"wordplay prepare --tokenizer {folder}" in error["message"]
    assert nothing_written(tmp_path / "run")


def test_a_folder_without_its_tokenizer_is_refused_naming_the_file(folders, tmp_path):
    folder = copy_of(folders["qwen3"][0], tmp_path)
    cfg = finetune_config(tmp_path, folder, write_dataset(folder, tmp_path / "data"))
    (folder / "tokenizer.json").unlink()
    assert run_trainer(cfg, tmp_path / "run") == 1
    error = last_error(tmp_path / "run")
    assert error["key"] == str(folder / "tokenizer.json") and "is missing" in error["message"]
    assert nothing_written(tmp_path / "run")


def test_a_setting_the_weights_fix_is_refused_by_the_trainer(folders, tmp_path):
    folder = folders["qwen2"][0]
    cfg = finetune_config(tmp_path, folder, write_dataset(folder, tmp_path / "data"))
    assert run_trainer(cfg, tmp_path / "run", "model.n_layer=4", "model.attn_bias=false") == 1
    message = last_error(tmp_path / "run")["message"]
    assert "model.n_layer: 4 conflicts with train.init_from" in message
    assert "its weights need 2 (config.json's num_hidden_layers)" in message
    assert "model.attn_bias: false conflicts" in message and "(its model_type qwen2)" in message
    assert nothing_written(tmp_path / "run")
