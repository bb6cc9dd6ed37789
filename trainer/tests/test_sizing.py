"""Issue 30, Train for…: the sizing rule (train/sizing.py) through the size command's plan
(commands/size.py) for char, trained BPE and GPT-2 datasets, its refusal with the shortest budget
that works, and the calibration (check/calibrate.py) kept in its cache. The rule is given a
throughput of our choosing (a device of FLOPS floating-point operations a second), so what it
decides does not depend on this machine; the calibration is measured for real, on two tiny
shapes."""

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TEXT, by_type, char_dataset, read_events, run_trainer, write_config

from wordplay_trainer.check import calibrate
from wordplay_trainer.check.calibrate import Calibration
from wordplay_trainer.commands import size
from wordplay_trainer.prepare import bpe
from wordplay_trainer.train import sizing
from wordplay_trainer.train.config import load_config

FLOPS = 2e10  # a CPU of a core or two
TRAIN_BRIEFLY = (
    "train.max_iters=4",
    "optimizer.warmup_iters=1",
    "train.eval_iters=2",
    "train.sample_tokens=0",
)


class Measured:
    """A calibration that answers from a throughput model instead of timing."""

    def __init__(self, flops: float = FLOPS):
        self.flops = flops
        self.device = torch.device("cpu")
        self.machine = "test machine"
        self.measured_s = 0.0
        self.cached = 0
        self.asked: list[str] = []

    def tokens_per_s(self, c, optimizer, architecture, say=lambda _: None) -> float:
        self.asked.append(c.name)
        per_token = 6 * c.params_total + 12 * c.n_layer * c.n_embd * c.block_size
        return self.flops / per_token


def token_dataset(out: Path, tokenizer: dict | str, ids: np.ndarray, text_bytes: int) -> Path:
    """A dataset folder of `ids` (90% train, 10% val) with its tokenizer.json and meta.json."""
    out.mkdir()
    split = int(len(ids) * 0.9)
    ids[:split].astype("<u2").tofile(out / "train.bin")
    ids[split:].astype("<u2").tofile(out / "val.bin")
    tok = tokenizer if isinstance(tokenizer, str) else json.dumps(tokenizer)
    (out / "tokenizer.json").write_text(tok)
    val_bytes = text_bytes - int(text_bytes * 0.9)
    meta = {"train_tokens": split, "val_tokens": len(ids) - split, "val_bytes": val_bytes}
    (out / "meta.json").write_text(json.dumps(meta))
    return out


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sizing")
    text = TEXT * 100
    tok = bpe.train(iter([text]), 300)
    bpe_ids = np.array(tok.encode(text).ids)
    gpt2_ids = np.random.default_rng(0).integers(0, 50257, len(text) // 4)
    return {
        "char": char_dataset(text, root / "char"),
        "bpe": token_dataset(root / "bpe", tok.to_str(), bpe_ids, len(text.encode())),
        "gpt2": token_dataset(root / "gpt2", {"type": "gpt2"}, gpt2_ids, len(text.encode())),
    }


@pytest.mark.parametrize("kind", ["char", "bpe", "gpt2"])
def test_a_plan_is_a_valid_config_for_each_tokenizer(datasets, kind):
    result, code = size.plan(datasets[kind], 300, "cpu", Measured())
    assert code == 0, result
    assert result["tokenizer"] == kind
    cfg = load_config(result["config"])  # validated: schema and cross-field rules
    assert cfg.train.time_budget_s == 300
    assert cfg.train.max_iters >= 20 * result["steps"] > 0, "the budget ends the run, not max_iters"
    assert (cfg.model.n_layer, cfg.model.n_embd) == (result["shape"]["n_layer"], result["shape"]["n_embd"])
    assert cfg.model.n_embd == sizing.ASPECT * cfg.model.n_layer
    # the record's U-net skips, beyond the preset's architecture, won on char text and lost on BPE
    assert cfg.model.skip_connections == (kind == "char")
    assert cfg.model.block_size < result["params"] and cfg.model.block_size < 0.1 * len(TEXT * 100)
    assert result["tokens"] == result["steps"] * result["tokens_per_step"]
    # the smallest fits; the chosen one's bytes a parameter are the nearest the rule's
    assert result["candidates"][0]["fits"]
    off = [abs(math.log(c["bytes_per_param"] / sizing.BYTES_PER_PARAM)) for c in result["candidates"]]
    assert abs(math.log(result["bytes_per_param"] / sizing.BYTES_PER_PARAM)) == min(off)
    assert 0 < result["expected_val_loss"] < 12
    # measured from the smallest up to the first that does not fit, and no further
    assert [c["fits"] for c in result["candidates"]][-2:] == [True, False]


def test_a_longer_budget_or_a_faster_machine_gives_a_larger_model(datasets):
    char = datasets["char"]
    short, _ = size.plan(char, 60, "cpu", Measured())
    long, _ = size.plan(char, 600, "cpu", Measured())
    fast, _ = size.plan(char, 60, "cpu", Measured(FLOPS * 20))
    assert short["params"] < long["params"] and short["params"] < fast["params"]
    assert short["tokens"] < long["tokens"]
    assert long["expected_val_loss"] < short["expected_val_loss"]


def test_little_data_caps_the_model_and_many_epochs_get_dropout(datasets):
    result, _ = size.plan(datasets["char"], 3600, "cpu", Measured(FLOPS * 1000))
    train_tokens = int(len(TEXT * 100) * 0.9)
    assert result["epochs"] > 1 + sizing.REPEAT_DECAY
    # repeated data is worth at most 1 + R* times the unique data
    assert result["params"] * sizing.BYTES_PER_PARAM <= (1 + sizing.REPEAT_DECAY) * train_tokens
    assert result["tokens_per_param"] < result["tokens"] / result["params"]
    assert result["config"]["model"]["dropout"] == sizing.SMALL_DATA_DROPOUT


def test_too_short_a_budget_is_refused_with_the_shortest_that_works(datasets, capsys):
    slow = Measured(FLOPS / 500)
    result, code = size.plan(datasets["char"], 5, "cpu", slow)
    assert code == 3
    assert "too short to train anything" in result["refused"]
    shortest = result["shortest_budget_s"]
    assert shortest > 5 and f"{shortest:g} s" in result["refused"]
    assert slow.asked == ["1x32"], "nothing larger than the smallest is measured"
    ok, code = size.plan(datasets["char"], shortest, "cpu", slow)
    assert code == 0 and ok["shape"]["n_layer"] == 1
    refused, code = size.plan(datasets["char"], shortest * 0.9, "cpu", slow)
    assert code == 3


@pytest.mark.parametrize("minutes", ["0", "-1", "abc", "nan", "inf"])
def test_minutes_must_be_a_positive_number(datasets, minutes, capsys):
    assert size.main(["--dataset", str(datasets["char"]), "--minutes", minutes]) == 2
    message = f'--minutes must be a positive number of minutes (0.5 is 30 seconds), got "{minutes}"'
    assert message in capsys.readouterr().err


def test_calibration_is_kept_per_machine_and_shape(datasets, tmp_path, monkeypatch):
    # one timed step a shape: what is kept, not how well it is measured
    monkeypatch.setattr(calibrate, "WARMUP_STEPS", 0)
    monkeypatch.setattr(calibrate, "MIN_STEPS", 1)
    monkeypatch.setattr(calibrate, "MIN_TIME_S", 0)
    cache = tmp_path / "calibration.json"
    _, data = size.dataset_facts(datasets["char"])
    recipe = json.loads((size.PRESETS_DIR / f"{size.RECIPE}.json").read_text())
    architecture = size.plan_architecture(recipe, data.kind)
    optimizer = load_config(size.RECIPE).optimizer
    two = list(itertools.islice(sizing.candidates(data, "cpu", architecture), 2))
    first = Calibration(cache, torch.device("cpu"), "auto")
    measured = [first.tokens_per_s(c, optimizer, architecture) for c in two]
    assert all(tps > 0 for tps in measured) and first.measured_s > 0 and first.cached == 0
    kept = json.loads(cache.read_text())["machines"]
    assert list(kept) == [first.machine] and f"torch {torch.__version__}" in first.machine
    again = Calibration(cache, torch.device("cpu"), "auto")
    assert [again.tokens_per_s(c, optimizer, architecture) for c in two] == [round(t, 1) for t in measured]
    assert again.cached == 2 and again.measured_s == 0
    fresh = Calibration(cache, torch.device("cpu"), "auto", fresh=True)
    fresh.tokens_per_s(two[0], optimizer, architecture)
    assert fresh.cached == 0 and fresh.measured_s > 0


def test_a_plan_trains(datasets, tmp_path):
    result, _ = size.plan(datasets["char"], 30, "cpu", Measured())
    cfg = write_config(tmp_path / "plan.json", result["config"])
    assert run_trainer(cfg, tmp_path / "run", *TRAIN_BRIEFLY) == 0
    events = read_events(tmp_path / "run")
    start = by_type(events, "start")[0]
    assert start["time_budget_s"] == 30
    assert by_type(events, "done")[-1]["reason"] == "finished"
    assert len(by_type(events, "eval")) >= 1


def test_the_loss_fit_holds_the_runs_it_was_fitted_to_and_gives_the_ratio():
    char = sizing.Dataset("char", 65, 1_003_854, 111_540, 1.0)
    for _, _, params, tokens, val_loss in sizing.MEASURED:
        assert abs(sizing.expected_val_loss(params, tokens, char) - val_loss) < 0.015
    # with equal exponents the compute-optimal ratio is (B/A)^(1/alpha), whatever the budget
    f = sizing.LOSS_FIT
    assert f["ALPHA"] == f["BETA"]
    assert abs((f["B"] / f["A"]) ** (1 / f["ALPHA"]) - sizing.BYTES_PER_PARAM) < 0.1


def test_the_next_larger_shape_wins_when_its_tokens_a_parameter_come_nearer_the_rule(datasets):
    _, data = size.dataset_facts(datasets["char"])
    two, three = itertools.islice(sizing.candidates(data, "cpu", {}), 1, 3)
    r = sizing.BYTES_PER_PARAM

    def at(c, ratio):  # the throughput at which c sees `ratio` tokens a parameter in 300 s
        return next(
            e
            for e in (sizing.estimate(c, tps, 300) for tps in range(100, 10**6, 100))
            if e.tokens >= ratio * r * c.params
        )

    small = at(two, 5)
    assert sizing.fits(small, data) and not sizing.fits(at(three, 0.8), data)
    assert sizing.choose([small, at(three, 0.8)], data).candidate is three
    assert sizing.choose([small, at(three, 0.1)], data).candidate is two
    assert sizing.choose([at(two, 0.9), at(three, 0.5)], data) is None, "the smallest does not train in time"


def test_a_plan_counts_bytes_not_tokens(datasets, tmp_path):
    # the same tokens at the same throughput, said to hold 4 bytes of text each (a GPT-2 token's
    # worth) or 1: the tokens that hold more text fit a larger model
    ids = np.concatenate([np.fromfile(datasets["bpe"] / f"{s}.bin", dtype="<u2") for s in ("train", "val")])
    tokenizer = (datasets["bpe"] / "tokenizer.json").read_text()
    plans = {}
    for per_token in (1, 4):
        folder = token_dataset(tmp_path / f"{per_token}", tokenizer, ids, per_token * len(ids))
        plans[per_token], _ = size.plan(folder, 300, "cpu", Measured())
    fitting = {n: [c["params"] for c in plan["candidates"] if c["fits"]] for n, plan in plans.items()}
    assert max(fitting[1]) < max(fitting[4])
    four = plans[4]
    assert four["bytes_per_param"] == pytest.approx(4 * four["tokens_per_param"], rel=0.01)


def test_the_byte_rule_picks_the_best_of_the_bpe_runs_it_was_checked_on():
    bytes_per_token = 3.895  # the whole standard library's val bytes a token
    ratio = [tokens * bytes_per_token / params for _, params, tokens, _ in sizing.MEASURED_BPE]
    nearest = min(range(len(ratio)), key=lambda i: abs(math.log(ratio[i] / sizing.BYTES_PER_PARAM)))
    best = min(range(len(ratio)), key=lambda i: sizing.MEASURED_BPE[i][3])
    assert nearest == best
    # counted in tokens, the rule would have picked a worse one
    by_tokens = min(
        range(len(ratio)), key=lambda i: abs(math.log(ratio[i] / bytes_per_token / sizing.BYTES_PER_PARAM))
    )
    assert sizing.MEASURED_BPE[by_tokens][3] > sizing.MEASURED_BPE[best][3]
