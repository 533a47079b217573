"""Regularized evolution: the strategy contract, aging, Pareto-aware tournaments, state."""

from __future__ import annotations

import json

import pytest

from _common import TOY_INT_OBJECTIVES, StrategyContract, config, evaluated, history
from nasplat import run_study
from nasplat.errors import ConfigError
from nasplat.plugins.strategies.evolution import RegularizedEvolution
from nasplat.strategy import TrialResult
from toys import ToyIntVector


class TestEvolution(StrategyContract):
    strategy = "evolution"


def test_crossover_resumes_the_same_sequence(tmp_path) -> None:
    options = {"population": 8, "crossover_prob": 0.5}
    whole = f"sqlite:///{tmp_path / 'whole.db'}"
    run_study(config(whole, "evolution", "toy_genes", 30, 3, options))
    parts = f"sqlite:///{tmp_path / 'parts.db'}"
    for budget in (12, 30):
        run_study(config(parts, "evolution", "toy_genes", budget, 3, options))
    assert history(parts) == history(whole)


def test_population_is_the_latest_evaluated_without_failures() -> None:
    space = ToyIntVector()
    strategy = RegularizedEvolution(space, TOY_INT_OBJECTIVES, seed=0, population=5)
    for first in range(0, 12, 4):
        results = evaluated(space, strategy.ask(4), first)
        results[0] = TrialResult(results[0].number, results[0].genome, "failed")
        strategy.tell(results)
    assert [m.number for m in strategy.members] == [6, 7, 9, 10, 11]  # oldest removed


def test_tournament_prefers_feasible_then_pareto_rank() -> None:
    space = ToyIntVector()
    strategy = RegularizedEvolution(space, TOY_INT_OBJECTIVES, seed=0, population=3, sample=3)
    good, bad, infeasible = [3] * 9, [8] * 9, [1] * 9
    results = evaluated(space, [good, bad], 0)
    results.append(TrialResult(2, infeasible, "infeasible", violation=0.5))
    strategy.tell(results)
    assert all(strategy._tournament() == good for _ in range(5))


def test_state_round_trips_through_json() -> None:
    space = ToyIntVector()
    a = RegularizedEvolution(space, TOY_INT_OBJECTIVES, seed=1, population=6)
    for first in range(0, 15, 3):
        a.tell(evaluated(space, a.ask(3), first))
    b = RegularizedEvolution(space, TOY_INT_OBJECTIVES, seed=99, population=6)
    b.load_state_dict(json.loads(json.dumps(a.state_dict(), allow_nan=False)))
    assert b.ask(4) == a.ask(4)


def test_unknown_options_are_refused(storage: str) -> None:
    with pytest.raises(ConfigError, match="strategy.options, tournament = .*unknown key"):
        run_study(config(storage, "evolution", options={"tournament": 5}))
