"""NSGA-II: the strategy contract, survival, generations in any batch size, state, options."""

from __future__ import annotations

import json

import numpy as np
import pytest

from _common import TOY_INT_OBJECTIVES, StrategyContract, config, evaluated
from nasplat import run_study
from nasplat.errors import ConfigError
from nasplat.plugins.strategies._population import Member, best, fitness
from nasplat.plugins.strategies.nsga2 import NSGA2
from nasplat.strategy import TrialResult
from toys import ToyIntVector


class TestNSGA2(StrategyContract):
    strategy = "nsga2"


def test_survival_is_feasible_first_then_rank_then_crowding() -> None:
    members = [
        Member(0, "front-end-a", (0.0, 4.0), 0.0),
        Member(1, "front-middle", (2.0, 2.0), 0.0),
        Member(2, "front-near-middle", (2.1, 1.9), 0.0),
        Member(3, "front-end-b", (4.0, 0.0), 0.0),
        Member(4, "dominated", (5.0, 5.0), 0.0),
        Member(5, "slightly-infeasible", None, 0.1),
        Member(6, "very-infeasible", None, 3.0),
    ]
    keys = fitness(members)
    assert [k[2] for k in keys[:5]] == [0, 0, 0, 0, 1]  # non-domination rank
    assert keys[0][3] == keys[3][3] == -np.inf  # the ends of a front are kept first
    assert keys[4] < keys[5] < keys[6]  # any feasible beats infeasible; smaller violation wins
    assert [m.genome for m in best(members, 3)] == ["front-end-a", "front-end-b", "front-middle"]
    assert [m.genome for m in best(members, 6)][-1] == "slightly-infeasible"


def test_generations_form_whatever_the_batch_size() -> None:
    space = ToyIntVector()
    strategy = NSGA2(space, TOY_INT_OBJECTIVES, seed=0, population=10)
    number = 0
    for batch in (7, 1, 3, 9, 2, 8):  # told in reverse, as a parallel executor might
        genomes = strategy.ask(batch)
        assert len(genomes) == batch
        strategy.tell(evaluated(space, genomes, number)[::-1])
        number += batch
    assert strategy.generation == 3 and len(strategy.parents) == 10
    assert strategy.told == 0 and len(strategy.offspring) == 0


def test_failed_trials_never_become_parents() -> None:
    space = ToyIntVector()
    strategy = NSGA2(space, TOY_INT_OBJECTIVES, seed=0, population=6)
    genomes = strategy.ask(6)
    results = evaluated(space, genomes, 0)
    results[:3] = [TrialResult(r.number, r.genome, "failed") for r in results[:3]]
    strategy.tell(results)
    assert strategy.generation == 1
    assert sorted(m.number for m in strategy.parents) == [3, 4, 5]


def test_state_round_trips_through_json_mid_generation() -> None:
    space = ToyIntVector()
    a = NSGA2(space, TOY_INT_OBJECTIVES, seed=1, population=6)
    for first in range(0, 15, 3):
        a.tell(evaluated(space, a.ask(3), first))
    b = NSGA2(space, TOY_INT_OBJECTIVES, seed=99, population=6)
    b.load_state_dict(json.loads(json.dumps(a.state_dict(), allow_nan=False)))
    assert b.ask(4) == a.ask(4)


def test_unknown_options_are_refused(storage: str) -> None:
    with pytest.raises(ConfigError, match="strategy.options, pop_size = .*unknown key"):
        run_study(config(storage, "nsga2", options={"pop_size": 10}))
