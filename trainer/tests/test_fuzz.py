"""Fuzzing (hypothesis, derandomized: the same examples on every run) of what reads untrusted
input in the trainer: the config loader (a file, a dict, --set overrides) and the events writer.
The outcome is a ConfigError naming its keys or a correct result, never another exception.
Each test's example count keeps it to a few seconds on a CI machine."""

import json
import math
import tempfile
from pathlib import Path

from conftest import tiny_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wordplay_trainer.common.errors import ConfigError
from wordplay_trainer.run.events import EventWriter, read_events
from wordplay_trainer.train.config import load_config, load_schema


def fuzz(examples: int):
    """Derandomized: the same examples on every run (a fixed seed), as many as fit in a few seconds."""
    return settings(
        derandomize=True,
        database=None,
        deadline=None,
        max_examples=examples,
        suppress_health_check=[HealthCheck.too_slow],
    )


SCHEMA = load_schema()
GROUPS = {
    g: list(s.get("properties", {})) for g, s in SCHEMA["properties"].items() if s.get("type") == "object"
}
KEYS = [(g, k) for g, keys in GROUPS.items() for k in keys]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),  # NaN and the infinities included
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
)


def strict_json(value) -> str:
    """JSON as the TypeScript side parses it: no NaN or Infinity."""
    return json.dumps(value, allow_nan=False)


def refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def check_outcome(load) -> None:
    """A config that is valid and strict JSON, or a ConfigError naming every problem's key."""
    try:
        cfg = load()
    except ConfigError as e:
        assert e.problems and all(
            isinstance(k, str) and k and isinstance(m, str) and m for k, m in e.problems
        )
        return
    text = strict_json(cfg.as_dict())  # config.json must be readable by the extension
    assert set(GROUPS) <= set(cfg.as_dict())
    assert load_config(json.loads(text)) == cfg  # the resolved config is a fixed point


@st.composite
def mutated_configs(draw):
    """A valid tiny config with a few keys (known or not, at any depth) set to arbitrary values."""
    cfg = json.loads(json.dumps(tiny_config(Path("/data/ds"))))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(["known", "group", "top"]))
        if where == "known":
            group, key = draw(st.sampled_from(KEYS))
            if not isinstance(cfg.get(group), dict):
                cfg[group] = {}
            cfg[group][key] = draw(json_values)
        elif where == "group":
            cfg[draw(st.sampled_from(list(GROUPS)))] = draw(json_values)
        else:
            cfg[draw(st.text(max_size=8))] = draw(json_values)
    return cfg


@fuzz(80)
@given(mutated_configs())
def test_config_dicts(cfg):
    check_outcome(lambda: load_config(cfg))


@fuzz(60)
@given(st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_arbitrary_dicts(cfg):
    check_outcome(lambda: load_config(cfg))


override_values = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["nan", "NaN", "inf", "-inf", "1e999", "1_000", " 3", "0x10", "null", "true", "-1", "1.5"]
    ),
)


@st.composite
def overrides(draw):
    items = []
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            group, key = draw(st.sampled_from(KEYS))
            items.append(f"{group}.{key}={draw(override_values)}")
        else:
            items.append(draw(st.text(max_size=20)))
    return items


@fuzz(200)
@given(overrides())
def test_set_overrides(sets):
    check_outcome(lambda: load_config(tiny_config(Path("/data/ds")), sets))


@fuzz(60)
@given(st.one_of(st.text(max_size=200), json_values.map(json.dumps), mutated_configs().map(json.dumps)))
def test_config_files(text):
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "run.wordplay.json"
        file.write_text(text, encoding="utf-8", errors="surrogatepass")
        check_outcome(lambda: load_config(str(file)))


def cleaned(value):
    """What the writer promises for a field: non-finite numbers (JSON has none) become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [cleaned(v) for v in value]
    if isinstance(value, dict):
        return {k: cleaned(v) for k, v in value.items()}
    return value


field_names = st.text(max_size=10).filter(lambda k: k not in ("type", "time"))


@fuzz(60)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["train", "eval", "sample", "error"]),
            st.dictionaries(field_names, json_values, max_size=5),
        ),
        max_size=5,
    )
)
def test_events_writer_round_trips(events):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.jsonl"
        writer = EventWriter(path)
        for type_, fields in events:
            writer.emit(type_, **fields)
        writer.close()
        lines = path.read_bytes().split(b"\n")
        assert lines[-1] == b"" and len(lines) == len(events) + 1  # one line per event, each ended
        for line, (type_, fields) in zip(lines, events, strict=False):
            event = json.loads(line, parse_constant=refuse_constant)  # strict JSON: no NaN
            assert event["type"] == type_ and isinstance(event["time"], float)
            assert {k: v for k, v in event.items() if k not in ("type", "time")} == cleaned(fields)
        assert [e["type"] for e in read_events(path)] == [t for t, _ in events]


@fuzz(100)
@given(st.binary(max_size=300), st.lists(st.sampled_from(["train", "eval"]), min_size=1, max_size=3))
def test_events_writer_after_a_torn_or_garbage_tail(garbage, types_):
    """A run resumed after a crash appends to whatever the file ends with; its events stay whole."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.jsonl"
        path.write_bytes(garbage)
        writer = EventWriter(path)
        for type_ in types_:
            writer.emit(type_, iter=1)
        writer.close()
        assert [e["type"] for e in read_events(path)[-len(types_) :]] == types_
