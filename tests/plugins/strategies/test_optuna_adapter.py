"""The optuna:* strategies: each runs through the engine on integer and bit-mask spaces,
refuses other spaces clearly, is seeded, and resumes as if never interrupted."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from nasplat import hookimpl, load_study, registry, run_study
from nasplat.errors import ConfigError, PluginError
from nasplat.plugins.strategies.optuna_adapter import OptunaTPE
from toys import ToyBitMask, ToyIntVector

pytest.importorskip("optuna")

NAMES = ["optuna:tpe", "optuna:nsga2", "optuna:gp", "optuna:random"]


class BoundedInt(ToyIntVector):
    """The toy integer space, telling its bounds."""

    name = "toy_int_bounded"

    def int_bounds(self) -> list[tuple[int, int]]:
        return [(self.LOW, self.HIGH)] * self.LENGTH


class BoundedMask(ToyBitMask):
    """A 24-bit toy mask, telling its bounds (512 bits would make the GP sampler crawl)."""

    name = "toy_mask_bounded"
    BITS = 24

    def int_bounds(self) -> list[tuple[int, int]]:
        return [(0, 1)] * self.BITS


class _Plugin:
    @hookimpl
    def nasplat_register_spaces(self, register: Any) -> None:
        register(BoundedInt)
        register(BoundedMask)


@pytest.fixture(scope="module", autouse=True)
def bounded_spaces() -> Iterator[None]:
    registry.get().add(_Plugin(), "bounded_toys", "nasplat-tests", "0")
    yield
    registry.get().remove("bounded_toys")


def config(storage: str, space: str, strategy: str, trials: int, seed: int = 0,
           study: str = "s") -> dict[str, Any]:
    options: dict[str, Any] = {}
    objectives = None
    if strategy == "optuna:gp":
        # Optuna's multi-objective GP takes seconds per trial: one objective, a short warm-up
        options = {"n_startup_trials": 3}
        objectives = [{"name": "f1" if space.endswith("_int") else "error"}]
    elif strategy == "optuna:nsga2":
        options = {"population_size": 4}  # several generations within the budget
    cfg = {"study": study, "space": space, "strategy": {"name": strategy, "options": options},
           "budget": {"trials": trials}, "seed": seed, "storage": storage}
    if objectives:
        cfg["objectives"] = objectives
    return cfg


@pytest.mark.parametrize("strategy", NAMES)
@pytest.mark.parametrize("space", ["zdt1_int", "toy_int_bounded", "toy_mask_bounded"])
def test_runs_through_the_engine(storage: str, space: str, strategy: str) -> None:
    trials = 5 if strategy == "optuna:gp" else 10
    summary = run_study(config(storage, space, strategy, trials))
    assert summary.reason == "budget spent"
    assert summary.counts["complete"] == trials
    done = load_study("s", storage).trials()
    assert len({t.genome_hash for t in done}) == trials


def test_a_space_without_bounds_is_refused(storage: str) -> None:
    with pytest.raises(ConfigError, match=r"strategy 'optuna:tpe' needs a space with "
                       r"int_bounds\(\); space 'toy_genes' has genome kind 'gene_list'"):
        run_study(config(storage, "toy_genes", "optuna:tpe", 3))


def test_missing_optuna_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna now fails
    with pytest.raises(PluginError, match=r"pip install 'nasplat\[optuna\]'"):
        OptunaTPE(BoundedInt(), [], seed=0)


def genomes(storage: str, study: str = "s") -> list[Any]:
    return [t.genome for t in load_study(study, storage).trials()]


@pytest.mark.parametrize("strategy", ["optuna:tpe", "optuna:nsga2"])
def test_seeded(tmp_path, strategy: str) -> None:
    runs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        url = f"sqlite:///{tmp_path / name}.db"
        run_study(config(url, "zdt1_int", strategy, 14, seed=seed))
        runs[name] = genomes(url)
    assert runs["a"] == runs["b"]
    assert runs["a"] != runs["c"]


@pytest.mark.parametrize("strategy", ["optuna:tpe", "optuna:random"])
def test_resume_proposes_what_an_uninterrupted_run_would(tmp_path, strategy: str) -> None:
    whole, parts = f"sqlite:///{tmp_path / 'whole'}.db", f"sqlite:///{tmp_path / 'parts'}.db"
    run_study(config(whole, "zdt1_int", strategy, 16, seed=5))
    run_study(config(parts, "zdt1_int", strategy, 9, seed=5))
    run_study(config(parts, "zdt1_int", strategy, 16, seed=5))  # resumed: told again
    assert genomes(parts) == genomes(whole)


def test_nsga2_resume_keeps_the_generations() -> None:
    """Told-again trials get the generation NSGA-II gave them, so the resumed search goes on
    from the last generation instead of starting from scratch."""
    from nasplat.objective import ObjectiveSpec
    from nasplat.plugins.strategies.optuna_adapter import OptunaNSGA2
    from nasplat.spaces.benchmarks import ZDT1Int
    from nasplat.strategy import TrialResult

    space, specs = ZDT1Int(), [ObjectiveSpec("f1", "min"), ObjectiveSpec("f2", "min")]
    first = OptunaNSGA2(space, specs, seed=5, population_size=4)
    told = []
    for number in range(9):
        (genome,) = first.ask(1)
        told.append(TrialResult(number, genome, "complete", space.evaluate(genome)))
        first.tell(told[-1:])
    again = OptunaNSGA2(space, specs, seed=5, population_size=4)
    again.tell(told)
    key = again.study.sampler._get_generation_key()
    assert [t.system_attrs.get(key) for t in again.study.trials] == \
        [t.system_attrs.get(key) for t in first.study.trials] == [0] * 4 + [1] * 4 + [2]


class _Stuck:
    """What a settled model does: propose the same genome every time."""

    def __init__(self, optuna: Any) -> None:
        self.sampler = optuna.samplers.PartialFixedSampler(
            {f"x{i}": 1 for i in range(BoundedInt.LENGTH)}, optuna.samplers.RandomSampler(0))


def test_a_repeated_genome_is_told_its_values_and_the_state_round_trips(monkeypatch) -> None:
    from nasplat.objective import ObjectiveSpec
    from nasplat.strategy import TrialResult

    space = BoundedInt()
    names = sorted(space.evaluate(space.sample(np.random.default_rng(0))))[:2]
    specs = [ObjectiveSpec(name, "min") for name in names]
    monkeypatch.setattr(OptunaTPE, "_make_sampler", lambda self, seed: _Stuck(self.optuna).sampler)
    strategy = OptunaTPE(space, specs, seed=0)
    (genome,) = strategy.ask(1)
    values = space.evaluate(genome)
    strategy.tell([TrialResult(0, genome, "complete", values)])
    assert strategy.ask(1) == []  # only repeats: none for the engine
    trials = strategy.study.trials
    assert len(trials) == 1 + 20
    assert all(t.values == [values[name] for name in names] for t in trials)  # repeats told values

    again = OptunaTPE(space, specs, seed=0)
    again.load_state_dict(json.loads(json.dumps(strategy.state_dict())))
    assert [(t.params, t.values, t.state) for t in again.study.trials] == \
        [(t.params, t.values, t.state) for t in trials]
    assert (again.proposals, again.seen, again.known) == \
        (strategy.proposals, strategy.seen, strategy.known)


@pytest.mark.parametrize("strategy", ["optuna:nsga2", "optuna:gp"])
def test_resume_from_the_saved_state_proposes_what_an_uninterrupted_run_would(
        tmp_path, strategy: str) -> None:
    whole, parts = f"sqlite:///{tmp_path / 'whole'}.db", f"sqlite:///{tmp_path / 'parts'}.db"
    trials = 8 if strategy == "optuna:gp" else 16
    run_study(config(whole, "zdt1_int", strategy, trials, seed=5))
    run_study(config(parts, "zdt1_int", strategy, trials // 2 + 1, seed=5))
    run_study(config(parts, "zdt1_int", strategy, trials, seed=5))
    assert genomes(parts) == genomes(whole)
