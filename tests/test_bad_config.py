"""Study configs with bad input, property-based: random structures, wrong types, unknown keys,
out-of-range numbers and broken files always end in a :class:`ConfigError` (or another
:class:`NasplatError`) naming the key, never in a traceback, and never write a store."""

from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from nasplat import registry
from nasplat.config import StudyConfig, load_config_file, validate_config
from nasplat.errors import ConfigError, NasplatError
from nasplat.study import prepare

SETTINGS = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70),
    st.sampled_from([0, 1, -1, 2**31, 2**32, 2**63, -2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-320, 1e308, 0.5, 0.999999]),
    st.text(max_size=12),
    st.sampled_from(["", "toy_int", "zdt1_int", "random", "nsga2", "min", "max", "cpu", "auto",
                     "5", "1e3", "nan", "inf", "true", "'; DROP TABLE studies; --", "é", "\x00"]),
)
JUNK = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
"""Any value a YAML, TOML or JSON file could hold, and then some."""

TOP_KEYS = sorted(StudyConfig.model_fields)
KNOWN_PATHS = [
    "study", "space", "space.name", "space.options", "strategy", "strategy.name",
    "strategy.options", "objectives", "constraints", "constraints.params",
    "constraints.params.min", "constraints.params.max", "budget", "budget.trials",
    "budget.seconds", "budget.count_infeasible", "dataset", "dataset.name", "trainer",
    "trainer.epochs", "trainer.steps", "trainer.batch_size", "trainer.optimizer", "trainer.lr",
    "trainer.momentum", "trainer.weight_decay", "trainer.schedule", "trainer.label_smoothing",
    "trainer.grad_clip", "trainer.divergence_factor", "trainer.device", "trainer.precision",
    "trainer.compile", "trainer.device_data_mb", "trainer.keep_weights", "executor", "seed",
    "storage", "artifacts", "heartbeat_seconds", "stale_after_seconds", "max_attempts",
]

OUT_OF_RANGE: dict[str, list[Any]] = {  # values each numeric key must refuse
    "budget.trials": [0, -1, -5, 1.5, "many"],
    "budget.seconds": [0, -0.5, math.nan, "soon"],
    "trainer.epochs": [0, -3, 2.5],
    "trainer.steps": [0, -1],
    "trainer.batch_size": [0, -128, 0.5],
    "trainer.lr": [0, -1e-3, math.nan, math.inf],
    "trainer.momentum": [-0.1, 1, 1.5, math.nan],
    "trainer.weight_decay": [-0.01, math.nan, math.inf],
    "trainer.label_smoothing": [-0.1, 1, math.nan],
    "trainer.grad_clip": [0, -1, math.nan],
    "trainer.divergence_factor": [1, 0.5, -2, math.nan],
    "trainer.device_data_mb": [0, -1],
    "seed": [-1, 2**32, 2**64, 1.5],
    "heartbeat_seconds": [0, -10, math.nan],
    "stale_after_seconds": [0, -1, math.nan, 5],  # 5: shorter than the heartbeat (10)
    "max_attempts": [0, -1],
    "constraints.params.min": [math.nan, math.inf, -math.inf],
    "constraints.params.max": [math.nan, math.inf, -math.inf],
}


def _set(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """``data`` with ``value`` at ``dotted``, creating mappings on the way (replacing any
    non-mapping found there)."""
    node = data
    *parents, last = dotted.split(".")
    for key in parents:
        if not isinstance(node.get(key), dict):
            node[key] = {"name": node[key]} if isinstance(node.get(key), str) else {}
        node = node[key]
    node[last] = value
    return data


def _names_the_key(message: str, dotted: str) -> bool:
    """Whether an error message points at ``dotted`` (or a key on its way, for a value that is
    not even the right kind of container)."""
    parts = dotted.split(".")
    return any(".".join(parts[:n]) in message for n in range(len(parts), 0, -1))


def _valid_or_named_error(data: Any, source: str = "config") -> StudyConfig | str:
    """Validate; a refusal must be a ConfigError of lines ``source...``. Returns either."""
    try:
        return validate_config(data, source)
    except ConfigError as exc:
        message = str(exc)
        assert message.strip() and "Traceback" not in message
        for line in message.splitlines():
            assert line.startswith(source), message
        return message


@SETTINGS
@given(data=st.dictionaries(st.one_of(st.sampled_from(TOP_KEYS), st.text(max_size=10)), JUNK,
                            max_size=6))
@example(data={"space": "toy_int", "x": [[[[[[]]]]]]})
@example(data={"space": "toy_int", "objectives": [{"\x00": 1}, 3, "f1"]})
def test_any_mapping_is_a_config_or_a_config_error(data: dict[str, Any]) -> None:
    _valid_or_named_error(data)


@SETTINGS
@given(path=st.sampled_from(KNOWN_PATHS), value=JUNK)
@example(path="constraints.params.max", value=math.nan)  # was accepted: never violated
@example(path="constraints.params.min", value=math.inf)  # was accepted: always violated
@example(path="stale_after_seconds", value=1)  # was accepted: every trial re-run
@example(path="study", value="a\x00b")  # was accepted: a traceback from PostgreSQL
@example(path="artifacts", value="x\x00y")  # was accepted: a traceback making the folder
@example(path="space.options", value=[[1, [2, [3]]]])
def test_a_bad_value_at_a_known_key_is_named(path: str, value: Any) -> None:
    result = _valid_or_named_error(_set({"space": "toy_int"}, path, value))
    if isinstance(result, str):
        assert _names_the_key(result, path) or path.split(".")[-1] in result, result


@SETTINGS
@given(path=st.sampled_from(sorted(OUT_OF_RANGE)), data=st.data())
def test_out_of_range_numbers_are_refused_by_name(path: str, data: st.DataObject) -> None:
    value = data.draw(st.sampled_from(OUT_OF_RANGE[path]), label="value")
    with pytest.raises(ConfigError) as caught:
        validate_config(_set({"space": "toy_int", "constraints": {"params": {"max": 3e6}}},
                             path, value), "study.toml")
    message = str(caught.value)
    assert path.split(".")[-1] in message and message.startswith("study.toml"), message


@SETTINGS
@given(where=st.sampled_from(["", "budget", "trainer", "space", "strategy",
                              "constraints.params", "objectives.0"]),
       key=st.text(min_size=1, max_size=20).filter(lambda k: k.isprintable() and "." not in k))
def test_unknown_keys_are_refused_by_name(where: str, key: str) -> None:
    data: dict[str, Any] = {"space": "toy_int", "constraints": {"params": {"max": 1.0}},
                            "objectives": [{"name": "error"}]}
    node: Any = data
    for part in where.split(".") if where else []:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        if isinstance(node, str):
            node = data[part] = {"name": node}
    known = set(type_fields(where))
    if key in known:
        return
    node[key] = 1
    with pytest.raises(ConfigError) as caught:
        validate_config(data, "c.yaml")
    message = str(caught.value)
    assert "unknown key; check its spelling" in message
    assert f"{where}.{key}".lstrip(".") in message, message


@pytest.mark.parametrize("key, shown", [
    ("\x85", '"\\x85"'), ("a\nb", '"a\\nb"'), ("", '""'), ("a.b", '"a.b"'), ("é", "é")])
def test_an_odd_key_stays_on_the_error_line(key: str, shown: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_config({"space": "toy_int", "budget": {key: 1}}, "c.yaml")
    assert str(caught.value) == f"c.yaml, budget.{shown} = 1: unknown key; check its spelling"


def type_fields(where: str) -> list[str]:
    """The keys a config section allows."""
    from nasplat.config import Bound, Budget, ObjectiveChoice, PluginChoice, TrainerConfig

    model = {"": StudyConfig, "budget": Budget, "trainer": TrainerConfig, "space": PluginChoice,
             "strategy": PluginChoice, "constraints.params": Bound,
             "objectives.0": ObjectiveChoice}[where]
    return list(model.model_fields)


# --- files ------------------------------------------------------------------------------------

def _load_and_validate(path: Path) -> None:
    """A file gives a mapping or a ConfigError naming it, and so does validating the mapping."""
    try:
        data = load_config_file(path)
    except ConfigError as exc:
        assert str(path) in str(exc), str(exc)
        return
    assert isinstance(data, dict)
    _valid_or_named_error(data, str(path))


@SETTINGS
@given(text=st.text(max_size=200), suffix=st.sampled_from([".toml", ".yaml", ".yml"]))
@example(text="[" * 5000, suffix=".yaml")  # was a RecursionError from the YAML parser
@example(text="a = " + "[" * 5000 + "]" * 5000, suffix=".toml")  # and from tomllib
@example(text="a: &x [*x]\n", suffix=".yaml")  # was a ValueError: circular reference
@example(text="space: toy_int\nbudget: {trials: 2020-01-01}\n", suffix=".yaml")
@example(text="space: !!python/object:os.system {}\n", suffix=".yaml")
@example(text="--- 1\n--- 2\n", suffix=".yml")
@example(text='space = "toy_int"\n[constraints.params]\nmax = nan\n', suffix=".toml")
def test_any_file_text_gives_a_config_or_an_error_naming_the_file(text: str,
                                                                   suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"study{suffix}"
        path.write_text(text, encoding="utf-8")
        _load_and_validate(path)


@SETTINGS
@given(data=st.dictionaries(st.sampled_from(TOP_KEYS), JUNK, max_size=5)
       .map(lambda d: {"space": "toy_int", **d}),
       style=st.sampled_from([None, True, False]))
def test_any_yaml_structure_gives_a_config_or_an_error(data: dict[str, Any],
                                                       style: bool | None) -> None:
    text = yaml.safe_dump(data, default_flow_style=style, allow_unicode=True)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "study.yaml"
        path.write_text(text, encoding="utf-8")
        _load_and_validate(path)


@SETTINGS
@given(content=st.binary(max_size=100), suffix=st.sampled_from([".toml", ".yaml", ".json",
                                                                  ".txt", ""]))
@example(content=b"\xff\xfe\x00bad", suffix=".yaml")  # was a UnicodeDecodeError
def test_any_bytes_give_a_config_or_an_error_naming_the_file(content: bytes,
                                                              suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"study{suffix}"
        path.write_bytes(content)
        _load_and_validate(path)


def test_a_yaml_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="unknown key"):
        validate_config(load_config_file(path), str(path))
    assert time.perf_counter() - start < 5  # showing the values once took minutes


def test_a_file_nesting_too_deep_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("space: {name: toy_int, options: {a: " + "[" * 40 + "]" * 40 + "}}\n")
    with pytest.raises(ConfigError, match="more than 32 levels deep"):
        load_config_file(path)


# --- all the way to a study: plugin options ----------------------------------------------------

SPACES = ["toy_int", "toy_mask", "toy_genes", "toy_cell", "zdt1_int", "dtlz2_int",
          "resnet_genome", "rnn_cell", "moe_mobilevit", "dense_prune"]
STRATEGIES = ["random", "nsga2", "evolution", "bo", "morphism_nsga2"]


def _option_names(kind: str, name: str) -> list[str]:
    model = getattr(registry.get().lookup(kind, name).cls, "Options", None)
    return sorted(getattr(model, "model_fields", {})) or ["x"]


@st.composite
def plugin_configs(draw: st.DrawFn) -> dict[str, Any]:
    """A config with random options (their real names, random values) for a space and a
    strategy."""
    space, strategy = draw(st.sampled_from(SPACES)), draw(st.sampled_from(STRATEGIES))
    options = {k: draw(SCALARS | st.lists(SCALARS, max_size=3)) for k in
               draw(st.lists(st.sampled_from(_option_names("spaces", space)), max_size=2))}
    strategy_options = {k: draw(SCALARS) for k in
                        draw(st.lists(st.sampled_from(_option_names("strategies", strategy)),
                                      max_size=2))}
    return {"space": {"name": space, "options": options},
            "strategy": {"name": strategy, "options": strategy_options}, "budget": 3}


@settings(SETTINGS, max_examples=100)
@given(config=plugin_configs())
@example(config={"space": {"name": "zdt1_int", "options": {"n_var": math.inf}}, "budget": 3})
@example(config={"space": {"name": "rnn_cell"}, "strategy": "morphism_nsga2", "budget": 3})
def test_plugin_options_give_a_study_or_an_error_and_no_store(config: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "store.db"
        config = {**config, "storage": f"sqlite:///{store}",
                  "artifacts": str(Path(folder) / "artifacts")}
        try:
            prepare(config).store.close()
        except NasplatError as exc:
            event(f"refused: {type(exc).__name__}")
            assert str(exc).strip() and "Traceback" not in str(exc)
            assert not store.exists(), f"a refused config wrote a store: {exc}"
        else:
            event("a study")
            assert store.exists()


def test_config_values_round_trip_as_json() -> None:
    """A valid config is stored as JSON: nothing a file may hold breaks that."""
    config = validate_config({"space": {"name": "toy_int", "options": {"é": [1, None]}},
                              "study": "it's \"quoted\" -- ; DROP TABLE studies"})
    assert json.loads(json.dumps(config.model_dump(mode="json")))["study"] == config.study
