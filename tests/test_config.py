"""Study configs: validation errors that name the field, the value and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasplat.config import load_config_file, validate_config
from nasplat.errors import ConfigError


def test_shorthand_and_defaults() -> None:
    cfg = validate_config({"space": "toy_int", "budget": 30, "objectives": ["error"]})
    assert cfg.space.name == "toy_int" and cfg.strategy.name == "random"
    assert cfg.budget.trials == 30 and cfg.objectives[0].name == "error"
    assert cfg.storage == "sqlite:///nasplat.db"


@pytest.mark.parametrize("data, expected", [
    ({"space": "x", "budget": {"trials": -5}}, "budget.trials = -5: Input should be greater than 0"),
    ({"space": "x", "budgett": {}}, "budgett = "),
    ({"space": "x", "seed": "abc"}, 'seed = "abc"'),
    ({"space": "x", "constraints": {"params": {"min": 3, "max": 1}}}, "larger than max"),
    ({"space": "x", "objectives": [{"name": "a", "direction": "up"}]},
     "objectives.0.direction = \"up\""),
    ({"space": "x", "objectives": ["a", "a"]}, "listed twice"),
    ({}, "space: missing"),
])
def test_errors_name_the_field_and_value(data: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate_config(data, "study.toml")
    assert expected in str(err.value)
    assert str(err.value).startswith("study.toml, ")


def test_unknown_key_says_check_spelling() -> None:
    with pytest.raises(ConfigError, match="trainer.epoch = 3: unknown key; check its spelling"):
        validate_config({"space": "x", "trainer": {"epoch": 3}})


def test_toml_and_yaml_files(tmp_path: Path) -> None:
    toml = tmp_path / "a.toml"
    toml.write_text('space = "toy_int"\n[budget]\ntrials = 7\n[constraints.params]\nmax = 3e6\n')
    yaml = tmp_path / "a.yaml"
    yaml.write_text("space: toy_int\nbudget:\n  trials: 7\nconstraints:\n  params: {max: 3.0e6}\n")
    a = validate_config(load_config_file(toml))
    b = validate_config(load_config_file(yaml))
    assert a == b and a.constraints["params"].max == 3e6


@pytest.mark.parametrize("name, text, expected", [
    ("bad.toml", "space = ", "does not parse"),
    ("bad.yaml", "space: [", "does not parse"),
    ("bad.json", "{}", "unknown format '.json'"),
    ("list.yaml", "- 1\n- 2\n", "top level must be a mapping"),
])
def test_unreadable_files(tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_config_file(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config_file(tmp_path / "nope.toml")


def test_bound_violation_is_relative() -> None:
    cfg = validate_config({"space": "x", "constraints": {"p": {"min": 1e6, "max": 3e6}}})
    bound = cfg.constraints["p"]
    assert bound.violation(2e6) == 0
    assert bound.violation(4e6) == pytest.approx(1 / 3)
    assert bound.violation(5e5) == pytest.approx(0.5)


def test_the_config_example_in_the_docs_is_valid() -> None:
    import re
    import tomllib

    text = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text()
    (block,) = re.findall(r"```toml\n(.*?)```", text, re.S)
    cfg = validate_config(tomllib.loads(block), "docs/cli.md")
    assert cfg.constraints["params"].min == 1e6 and cfg.objectives[1].direction == "min"
