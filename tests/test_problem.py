"""Resolving a config into live parts: here, what strategies learn of the objectives."""

from __future__ import annotations

from typing import Any

from nasplat.config import validate_config
from nasplat.objective import ObjectiveSpec
from nasplat.problem import resolve


def specs(**config: Any) -> list[ObjectiveSpec]:
    return resolve(validate_config({"space": "zdt1_int", **config})).specs


def test_strategies_see_the_best_values_objectives_declare() -> None:
    assert specs() == [ObjectiveSpec("f1", "min", 0.0), ObjectiveSpec("f2", "min", 0.0)]
    assert specs(objectives=["f1", "val_accuracy", "params"])[1:] == [
        ObjectiveSpec("val_accuracy", "max", 1.0), ObjectiveSpec("params", "min", 0.0)]


def test_a_config_declares_or_overrides_a_best_value() -> None:
    got = specs(objectives=[{"name": "f1", "best": -2.5},
                            {"name": "latency", "direction": "min", "best": 0}])
    assert got == [ObjectiveSpec("f1", "min", -2.5), ObjectiveSpec("latency", "min", 0.0)]
    assert specs(objectives=[{"name": "latency", "direction": "min"}])[0].best is None


def test_turning_an_objective_around_drops_its_best_value() -> None:
    # an accuracy's best (1) is the worst of an accuracy minimised
    assert specs(objectives=[{"name": "val_accuracy", "direction": "min"}]) == [
        ObjectiveSpec("val_accuracy", "min", None)]
    assert specs(objectives=[{"name": "f2", "direction": "max"}]) == [
        ObjectiveSpec("f2", "max", None)]
