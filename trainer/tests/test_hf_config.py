"""A pretrained train.init_from's config stage (train/hf_config.py): test/cases/pretrained-rules.json,
the cases src/core/train/hfConfig.ts runs too, word for word; and a hub name read from the Hugging
Face cache offline, as the trainer downloads it."""

import json
from pathlib import Path

import pytest

from wordplay_trainer.common.errors import ConfigError, TrainerError
from wordplay_trainer.train.config import load_config
from wordplay_trainer.train.hf_config import read_pretrained

CASES = json.loads(
    (Path(__file__).resolve().parents[2] / "test" / "cases" / "pretrained-rules.json").read_text()
)["cases"]


def placed(value, folder: Path):
    """The case's value with {folder} made the model folder's path."""
    return json.loads(json.dumps(value).replace("{folder}", str(folder)))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_pretrained_rules_case_table(case, tmp_path):
    folder = tmp_path / "model"
    if case["folder"] is not None or "nothing" not in json.dumps(case["config"]):
        folder.mkdir()
    if case["folder"] is not None:
        (folder / "config.json").write_text(json.dumps(case["folder"]))
    try:
        cfg = load_config(placed(case["config"], folder), case["set"], tmp_path)
        problems = []
    except ConfigError as e:
        problems = [list(p) for p in e.problems]
    assert problems == placed(case["problems"], folder)
    if not problems:
        model = cfg.as_dict()["model"]
        assert {k: model[k] for k in case["model"]} == case["model"]


def test_a_hub_name_is_read_from_the_hugging_face_cache_offline(tmp_path, monkeypatch):
    """owner/name is no path: the trainer finds it where huggingface_hub keeps it (or downloads
    it there), and the resolved config keeps the name."""
    snapshot = tmp_path / "hub" / "models--tiny--llama" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("abc")
    llama = next(c for c in CASES if c["folder"] and c["folder"]["model_type"] == "llama")["folder"]
    (snapshot / "config.json").write_text(json.dumps(llama))
    # huggingface_hub reads its environment once, when first imported
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.chdir(tmp_path)
    cfg = load_config({"train": {"init_from": "tiny/llama"}})
    assert cfg.train.init_from == "tiny/llama" and (cfg.model.n_kv_head, cfg.model.position) == (2, "rope")
    assert read_pretrained("tiny/llama").folder == snapshot
    # a folder of that name wins
    (tmp_path / "tiny" / "llama").mkdir(parents=True)
    (tmp_path / "tiny" / "llama" / "config.json").write_text(json.dumps({**llama, "num_hidden_layers": 3}))
    cfg = load_config({"train": {"init_from": "tiny/llama"}})
    assert cfg.train.init_from == str(tmp_path / "tiny" / "llama") and cfg.model.n_layer == 3
    with pytest.raises(TrainerError) as info:
        read_pretrained("tiny/absent")
    assert info.value.key == "train.init_from"
    assert "could not download tiny/absent from the Hugging Face hub" in info.value.message
