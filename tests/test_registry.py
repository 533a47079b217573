"""Plugin loading: clashes, broken plugins, misspelled hooks, NASPLAT_PLUGINS."""

from __future__ import annotations

import types
from importlib import metadata
from typing import Any

import pluggy
import pytest

from nasplat import hookimpl, hookspecs, registry
from nasplat.errors import PluginError
from nasplat.registry import Plugins


def fresh() -> Plugins:
    pm = pluggy.PluginManager("nasplat")
    pm.add_hookspecs(hookspecs)
    return Plugins(pm)


def space_plugin(name: str) -> types.SimpleNamespace:
    cls = type(f"Space_{name}", (), {"name": name, "__doc__": "A space."})

    @hookimpl
    def nasplat_register_spaces(register: Any) -> None:
        register(cls)

    return types.SimpleNamespace(nasplat_register_spaces=nasplat_register_spaces)


def test_bundled_plugins_come_through_entry_points() -> None:
    eps = {ep.name: ep.value for ep in metadata.entry_points(group="nasplat")}
    assert eps["random"] == "nasplat.plugins.strategies.random"
    reg = registry.get().lookup("strategies", "random")
    assert reg.distribution == "nasplat" and reg.plugin == "random"


def test_a_name_registered_twice_names_both_distributions() -> None:
    plugins = fresh()
    plugins.add(space_plugin("dup"), "first", "pkg-one", "1.0")
    plugins.add(space_plugin("dup"), "second", "pkg-two", "2.0")
    plugins.add(space_plugin("other"), "third", "pkg-three", "1.0")
    assert set(plugins.registry("spaces")) == {"dup", "other"}  # the rest keeps working
    plugins.lookup("spaces", "other")
    with pytest.raises(PluginError) as err:
        plugins.lookup("spaces", "dup")
    text = str(err.value)
    assert "'dup' is registered twice" in text and "pkg-one" in text and "pkg-two" in text


def test_unknown_name_suggests_the_closest() -> None:
    plugins = fresh()
    plugins.add(space_plugin("moe_mobilevit"), "a")
    plugins.add(space_plugin("dense_prune"), "b")
    with pytest.raises(PluginError, match="Did you mean 'moe_mobilevit'") as err:
        plugins.lookup("spaces", "moe_mobilvit")
    assert "dense_prune, moe_mobilevit" in str(err.value)


def test_misspelled_hook_marks_the_plugin_broken() -> None:
    @hookimpl
    def nasplat_register_space(register: Any) -> None:
        raise AssertionError("never called")

    plugins = fresh()
    plugins.add(types.SimpleNamespace(nasplat_register_space=nasplat_register_space), "typo")
    assert "did you mean 'nasplat_register_spaces'" in (plugins.info["typo"].error or "")
    assert plugins.registry("spaces") == {}


def test_a_broken_entry_point_is_reported_and_others_load(monkeypatch) -> None:
    good = metadata.EntryPoint("random", "nasplat.plugins.strategies.random", "nasplat")
    bad = metadata.EntryPoint("bad", "no_such_module_xyz.plugin", "nasplat")
    monkeypatch.setattr(metadata, "entry_points", lambda group: [bad, good])
    plugins = fresh()
    plugins.load()
    assert "No module named 'no_such_module_xyz'" in (plugins.info["bad"].error or "")
    assert "random" in plugins.registry("strategies")


def test_nasplat_plugins_limits_loading(monkeypatch) -> None:
    monkeypatch.setenv("NASPLAT_PLUGINS", "local")
    plugins = fresh()
    plugins.load()
    assert set(plugins.info) == {"local"}
    assert plugins.registry("strategies") == {}


def test_registering_a_class_without_a_name_is_an_error() -> None:
    @hookimpl
    def nasplat_register_strategies(register: Any) -> None:
        register(type("Nameless", (), {}))

    plugins = fresh()
    plugins.add(types.SimpleNamespace(nasplat_register_strategies=nasplat_register_strategies),
                "nameless", "pkg-x")
    with pytest.raises(PluginError, match="without a `name`"):
        plugins.registry("strategies")


def test_a_plugin_adds_cli_commands(runner) -> None:
    import click

    from nasplat import cli as cli_module

    @click.command("hello")
    def hello() -> None:
        """Say hello."""
        click.echo("hello from a plugin")

    class Commands:
        @hookimpl
        def nasplat_register_commands(self, cli: click.Group) -> None:
            cli.add_command(hello)

    registry.get().add(Commands(), "commands")
    try:
        cli_module._add_commands()
        result = runner.invoke(cli_module.cli, ["hello"])
    finally:
        registry.get().remove("commands")
        cli_module.cli.commands.pop("hello", None)
    assert result.exit_code == 0 and result.output == "hello from a plugin\n"


def test_a_plugin_executor_with_two_slots(storage: str) -> None:
    from nasplat import load_study, run_study

    batches: list[int] = []

    class Pairs:
        """Runs trials two at a time (in turn, for the test)."""

        name = "pairs"
        slots = 2

        def run(self, jobs, evaluate):
            batches.append(len(jobs))
            for job in jobs:
                yield job, evaluate(job)

    class Executors:
        @hookimpl
        def nasplat_register_executors(self, register: Any) -> None:
            register(Pairs)

    registry.get().add(Executors(), "pairs-plugin")
    try:
        run_study({"study": "p", "space": "toy_int", "budget": 7, "storage": storage,
                   "executor": "pairs"})
    finally:
        registry.get().remove("pairs-plugin")
    assert batches == [2, 2, 2, 1]
    assert len(load_study("p", storage).trials(["complete"])) == 7


def test_a_surrogate_plugin_is_listed(runner) -> None:
    import json

    from nasplat.cli import cli

    class Mean:
        """Predicts the mean of what it saw."""

        name = "mean"

    class Surrogates:
        @hookimpl
        def nasplat_register_surrogates(self, register: Any) -> None:
            register(Mean)

    registry.get().add(Surrogates(), "mean-plugin", "pkg-mean", "0.1")
    try:
        result = runner.invoke(cli, ["plugins", "--format", "json"])
    finally:
        registry.get().remove("mean-plugin")
    row = next(r for r in json.loads(result.output) if r["name"] == "mean")
    assert row["kind"] == "surrogates" and row["distribution"] == "pkg-mean"


def test_an_objective_plugin_is_used_by_name(storage: str) -> None:
    from nasplat import load_study, run_study

    class Spread:
        """Largest gene minus smallest (a made-up objective computed from a metric)."""

        name = "spread"
        direction = "min"
        cheap = False

        def __init__(self, scale: float = 1.0) -> None:
            self.scale = scale

        def compute(self, record) -> float:
            return self.scale * record.metrics["error"] ** 0.5

    class Objectives:
        @hookimpl
        def nasplat_register_objectives(self, register: Any) -> None:
            register(Spread)

    registry.get().add(Objectives(), "spread-plugin")
    try:
        run_study({"study": "o", "space": "toy_int", "budget": 4, "storage": storage,
                   "objectives": [{"name": "spread", "options": {"scale": 2.0}}, "params"]})
    finally:
        registry.get().remove("spread-plugin")
    study = load_study("o", storage)
    assert study.directions == [("spread", "min"), ("params", "min")]
    for t in study.trials():
        assert t.values["spread"] == pytest.approx(2.0 * t.metrics["error"] ** 0.5)


def test_a_dataset_plugin_is_registered() -> None:
    class Tiny:
        """A made-up dataset."""

        name = "tiny-data"

    class Datasets:
        @hookimpl
        def nasplat_register_datasets(self, register: Any) -> None:
            register(Tiny)

    registry.get().add(Datasets(), "tiny-data-plugin", "pkg-data", "3")
    try:
        reg = registry.get().lookup("datasets", "tiny-data")
    finally:
        registry.get().remove("tiny-data-plugin")
    assert reg.cls is Tiny and reg.distribution == "pkg-data"
