"""Issue 3 point 5 (presets, --set) and point 14 (invalid configs: all errors, keys named); the
cross-field rules through the case table the TypeScript validator runs too."""

import dataclasses
import json
from pathlib import Path

import jsonschema
import pytest
from conftest import tiny_config, write_config

from wordplay_trainer.common.errors import ConfigError
from wordplay_trainer.common.schemas import read_json
from wordplay_trainer.train.config import PRESETS_DIR, js_number, load_config, load_schema, preset_names
from wordplay_trainer.train.run_config import RunConfig

CASES = json.loads(
    (Path(__file__).resolve().parents[2] / "test" / "cases" / "config-rules.json").read_text()
)["cases"]


def cache_open_models(hub: Path) -> None:
    """config.json of each model of schemas/open-models.json, where huggingface_hub would have
    downloaded it: the fine-tuning presets name them, and a test has no network."""
    for name, m in read_json("open-models.json")["models"].items():
        repo = hub / ("models--" + name.replace("/", "--"))
        (repo / "snapshots" / "test").mkdir(parents=True)
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text("test")
        config = {
            "model_type": m["class"].removesuffix("ForCausalLM").lower(),
            "architectures": [m["class"]],
            "hidden_size": m["n_embd"],
            "intermediate_size": m["mlp_hidden"],
            "num_hidden_layers": m["n_layer"],
            "num_attention_heads": m["n_head"],
            "num_key_value_heads": m["n_kv_head"],
            "head_dim": m["head_dim"],
            "vocab_size": m["vocab_size"],
            "tie_word_embeddings": m["tie_embeddings"],
            "max_position_embeddings": 8192,
        }
        (repo / "snapshots" / "test" / "config.json").write_text(json.dumps(config))


def test_presets_exist_and_validate(tmp_path, monkeypatch):
    from huggingface_hub import constants

    cache_open_models(tmp_path / "hub")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert set(preset_names()) >= {
        "smollm2-135m-finetune",
        "qwen3-0.6b-lora",
        "shakespeare-char",
        "shakespeare-char-cpu",
        "nanogpt-shakespeare-char",
        "nanogpt-shakespeare-char-cpu",
        "gpt2-finetune",
        "gpt2-124m",
    }
    for name in preset_names():
        raw = json.loads((PRESETS_DIR / f"{name}.json").read_text())
        jsonschema.Draft7Validator(load_schema()).validate(raw)
        cfg = load_config(name)
        assert cfg.model.n_embd % cfg.model.n_head == 0


def test_nanogpts_recipes_are_kept_as_its_readme_gives_them():
    gpt2 = {
        "position": "learned",
        "norm": "layernorm",
        "qk_norm": False,
        "mlp": "gelu",
        "tie_embeddings": True,
    }
    gpu = load_config("nanogpt-shakespeare-char")
    assert dataclasses.asdict(gpu.model) == {
        "n_layer": 6,
        "n_head": 6,
        "n_embd": 384,
        "block_size": 256,
        "dropout": 0.2,
        "bias": False,
        **gpt2,
        "zero_init": False,
        # the options Llama and Qwen weights bring, at today's meaning
        **{"n_kv_head": None, "head_dim": None, "mlp_hidden": None, "attn_bias": False},
        **{"rope_base": 10000, "norm_eps": 1e-5},
        "skip_connections": False,
    }
    assert gpu.train.batch_size == 64 and gpu.train.max_iters == 5000 and gpu.train.eval_interval == 250
    o = gpu.optimizer
    assert (o.name, o.learning_rate, o.min_lr, o.warmup_iters, o.lr_decay_iters, o.beta2) == (
        "adamw",
        1e-3,
        1e-4,
        100,
        5000,
        0.99,
    )
    # python train.py config/train_shakespeare_char.py --device=cpu --compile=False --eval_iters=20
    # --log_interval=1 --block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128
    # --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0
    cpu = load_config("nanogpt-shakespeare-char-cpu")
    m, t, o = cpu.model, cpu.train, cpu.optimizer
    assert (m.n_layer, m.n_head, m.n_embd, m.block_size, m.dropout, m.bias) == (4, 4, 128, 64, 0.0, False)
    assert {k: getattr(m, k) for k in gpt2} == gpt2 and not m.zero_init
    assert (t.batch_size, t.max_iters, t.eval_interval, t.eval_iters, t.log_interval) == (
        12,
        2000,
        250,
        20,
        1,
    )
    assert (t.device, t.compile) == ("cpu", "false")
    assert (o.name, o.learning_rate, o.min_lr, o.warmup_iters, o.lr_decay_iters) == (
        "adamw",
        1e-3,
        1e-4,
        100,
        2000,
    )
    assert (o.weight_decay, o.beta1, o.beta2, o.grad_clip) == (0.1, 0.9, 0.99, 1.0)
    assert load_config("gpt2-finetune").train.init_from == "gpt2"


def test_the_default_recipes_use_todays_architecture_and_muon():
    for name in ("shakespeare-char-cpu", "shakespeare-char"):
        cfg = load_config(name)
        assert cfg.optimizer.name == "muon" and cfg.model.position == "rope", name


def test_defaults_filled_from_schema(tmp_path):
    cfg = load_config(str(write_config(tmp_path / "c.json", {"model": {"n_layer": 2}})))
    assert cfg.model.n_layer == 2
    assert cfg.model.n_head == 6  # schema default
    assert cfg.optimizer.lr_decay_iters is None
    assert cfg.logging.wandb is False
    assert cfg.distributed.backend == "ddp"


def test_the_typed_config_has_the_schemas_groups_and_keys():
    """A key added to the schema but not to the dataclasses (or the reverse) fails here first."""
    schema = load_schema()["properties"]
    groups = {g: list(s["properties"]) for g, s in schema.items() if s.get("type") == "object"}
    cfg = load_config("shakespeare-char-cpu")
    typed = {g: [k.name for k in dataclasses.fields(getattr(cfg, g))] for g in groups}
    assert typed == groups
    assert [f.name for f in dataclasses.fields(cfg)] == [*groups, "schema"]
    assert RunConfig.from_dict(cfg.as_dict()) == cfg
    assert cfg.as_dict()["$schema"] == cfg.schema == "../../../schemas/run-config.schema.json"


def test_overrides_are_coerced_by_schema_type(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(
        "shakespeare-char-cpu",
        [
            "train.max_iters=7",
            "optimizer.learning_rate=2e-3",
            "model.bias=true",
            "optimizer.lr_decay_iters=null",
            "train.device=cpu",
            "data.dataset=elsewhere",
        ],
    )
    assert cfg.train.max_iters == 7
    assert cfg.optimizer.learning_rate == 0.002
    assert cfg.model.bias is True
    assert cfg.optimizer.lr_decay_iters is None
    assert cfg.data.dataset == str(tmp_path / "elsewhere")


def test_dataset_path_is_relative_to_the_config_file(tmp_path):
    (tmp_path / "sub").mkdir()
    path = write_config(tmp_path / "sub" / "run.wordplay.json", {"data": {"dataset": "../data/x"}})
    assert load_config(str(path)).data.dataset == str(tmp_path / "data" / "x")


def test_all_errors_listed_at_once_with_keys(tmp_path):
    bad = tiny_config(tmp_path)
    bad["model"]["n_layers"] = 3  # unknown key (typo)
    bad["optimizer"]["learning_rate"] = -1
    bad["train"]["batch_size"] = 0
    with pytest.raises(ConfigError) as info:
        load_config(str(write_config(tmp_path / "c.json", bad)))
    keys = [k for k, _ in info.value.problems]
    assert "model.n_layers" in keys and "optimizer.learning_rate" in keys and "train.batch_size" in keys
    assert "unknown key" in str(info.value)


def test_semantic_errors(tmp_path):
    bad = tiny_config(tmp_path, model={"n_embd": 30, "n_head": 4}, optimizer={"min_lr": 1.0})
    with pytest.raises(ConfigError) as info:
        load_config(str(write_config(tmp_path / "c.json", bad)))
    keys = [k for k, _ in info.value.problems]
    assert keys == ["model.n_embd", "optimizer.min_lr"]
    assert "divisible" in info.value.message


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_config_rules_case_table(case):
    """test/cases/config-rules.json: the same problems, word for word, as src/core/train/config.ts."""
    try:
        load_config(case["config"], case["set"])
        problems = []
    except ConfigError as e:
        problems = [list(p) for p in e.problems]
    assert problems == case["problems"]


def test_numbers_in_messages_read_as_javascript_writes_them():
    cases = {
        1.0: "1",
        30: "30",
        0.5: "0.5",
        1e-05: "0.00001",
        1e-07: "1e-7",
        1.5e-7: "1.5e-7",
        2.5e15: "2500000000000000",
    }
    cases |= {
        1e21: "1e+21",
        1.2345e22: "1.2345e+22",
        -0.25: "-0.25",
        0.0: "0",
        123.456: "123.456",
        6e-4: "0.0006",
    }
    assert {x: js_number(x) for x in cases} == cases


def test_bad_override_and_unknown_preset():
    with pytest.raises(ConfigError) as info:
        load_config("shakespeare-char-cpu", ["train.max_iters=many", "model.width=3", "oops"])
    keys = [k for k, _ in info.value.problems]
    assert keys == ["train.max_iters", "model.width", "oops"]
    with pytest.raises(ConfigError, match="neither a config file nor a preset"):
        load_config("no-such-preset")


def test_malformed_config_file(tmp_path):
    (tmp_path / "c.json").write_text("{ not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(str(tmp_path / "c.json"))
