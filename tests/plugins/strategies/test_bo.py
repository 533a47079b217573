"""Bayesian optimisation: every genome kind, seeding, resume, constraints, EHVI, beats random."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from pymoo.indicators.hv import HV

from nasplat import load_study, run_study
from nasplat.errors import ConfigError, PluginError
from nasplat.objective import ObjectiveSpec
from nasplat.pareto import hypervolume
from nasplat.plugins.strategies._acquisition import (expected_hv_improvement, greedy_batch,
                                                      hv_improvement, improvement_boxes,
                                                      mc_expected_hv_improvement,
                                                      reference_point)
from nasplat.plugins.strategies.bo import BayesianOptimisation
from nasplat.store import Store, queries
from nasplat.strategy import TrialResult
from nasplat.surrogate_quality import SurrogateReport
from toys import ToyGeneList, ToyIntVector

LIGHT = {"initial": 6, "samples": 60, "mutants": 60, "children": 30, "refine_top": 4,
         "refine_mutants": 10}
"""Small enough that a 20-trial study takes about a second (with the default surrogate, gp)."""
TREES = {**LIGHT, "surrogate": "xgboost", "surrogate_options": {"models": 4, "n_estimators": 20}}
"""The same with a small xgboost ensemble."""


def config(storage: str, space: str = "toy_int", trials: int = 16, seed: int = 0,
           **extra: Any) -> dict[str, Any]:
    options = {**LIGHT, **extra.pop("options", {})}
    return {"study": "s", "space": space, "strategy": {"name": "bo", "options": options},
            "budget": {"trials": trials}, "storage": storage, "seed": seed, **extra}


def hashes(storage: str) -> list[str]:
    return [t.genome_hash for t in load_study("s", storage).trials()]


# --- through the engine -------------------------------------------------------------------------


@pytest.mark.parametrize("surrogate", ["gp", "xgboost"])
@pytest.mark.parametrize("space", ["toy_int", "toy_mask", "toy_genes", "toy_cell"])
def test_every_genome_kind_runs_to_budget(storage: str, space: str, surrogate: str) -> None:
    options = TREES if surrogate == "xgboost" else {}
    summary = run_study(config(storage, space, trials=14, options=options))
    trials = load_study("s", storage).trials()
    assert summary.reason == "budget spent"
    assert len(trials) == 14 and all(t.status == "complete" for t in trials)
    assert len({t.genome_hash for t in trials}) == 14


def test_seeded_runs_repeat_exactly(tmp_path) -> None:
    urls = [f"sqlite:///{tmp_path / f'{name}.db'}" for name in ("a", "b", "c")]
    for url, seed in zip(urls, (5, 5, 6), strict=True):
        run_study(config(url, "toy_genes", seed=seed))
    assert hashes(urls[0]) == hashes(urls[1])
    assert hashes(urls[0]) != hashes(urls[2])


@pytest.mark.parametrize("surrogate", ["gp", "xgboost"])
@pytest.mark.parametrize("constraints", [{}, {"params": {"max": 600}}])
def test_resume_continues_as_if_uninterrupted(tmp_path, constraints: dict, surrogate: str
                                              ) -> None:
    whole, parts = f"sqlite:///{tmp_path / 'whole.db'}", f"sqlite:///{tmp_path / 'parts.db'}"
    options = TREES if surrogate == "xgboost" else {}
    run_study(config(whole, trials=16, constraints=constraints, options=options))
    run_study(config(parts, trials=9, constraints=constraints, options=options))  # past initial
    run_study(config(parts, trials=16, constraints=constraints, options=options))
    assert hashes(whole) == hashes(parts)


def test_cheap_constraint_keeps_the_front_feasible(storage: str) -> None:
    summary = run_study(config(storage, trials=16, constraints={"params": {"max": 600}}))
    study = load_study("s", storage)
    assert summary.reason == "budget spent"
    assert study.trials(["infeasible"])  # the feasibility model had something to learn from
    front = study.pareto_front()
    assert front and all(t.values["params"] <= 600 for t in front)
    # once the model took over, most proposals were feasible (random ones mostly are not)
    later = [t for t in study.trials() if t.number >= LIGHT["initial"]]
    assert later and sum(t.status == "complete" for t in later) > len(later) / 2


def test_beats_random_search_on_hypervolume(tmp_path) -> None:
    """Mean final hypervolume over 3 seeds at 40 trials, reference point fixed."""
    reference = [225.0, 2400.0]  # worst error of toy_int (9 genes x 5^2) and above max params
    final: dict[str, float] = {}
    for strategy in ("bo", "random"):
        volumes = []
        for seed in range(3):
            url = f"sqlite:///{tmp_path / f'{strategy}{seed}.db'}"
            cfg = config(url, trials=40, seed=seed, options={"initial": 10})
            if strategy == "random":
                cfg["strategy"] = {"name": "random"}
            run_study(cfg)
            values = [[t.values["error"], t.values["params"]]
                      for t in load_study("s", url).trials(["complete"])]
            volumes.append(hypervolume(values, ["min", "min"], reference))
        final[strategy] = float(np.mean(volumes))
    assert final["bo"] > 1.05 * final["random"], final


# --- the strategy on its own ---------------------------------------------------------------------


SPECS = [ObjectiveSpec("error", "min"), ObjectiveSpec("params", "min")]


def told(space: ToyIntVector, genomes: list, start: int = 0) -> list[TrialResult]:
    results = []
    for number, genome in enumerate(genomes, start):
        values = {**space.evaluate(genome), **space.cheap_metrics(genome)}
        results.append(TrialResult(number, genome, "complete", values))
    return results


def test_state_round_trip_continues_the_sequence() -> None:
    space = ToyIntVector()
    a = BayesianOptimisation(space, SPECS, seed=4, **LIGHT)
    for step in range(10):  # through the initial design into the model's proposals
        a.tell(told(space, a.ask(1), step))
    state = json.loads(json.dumps(a.state_dict()))  # what the store keeps
    expected = a.ask(2)
    b = BayesianOptimisation(space, SPECS, seed=999, **LIGHT)
    b.load_state_dict(state)
    assert b.ask(2) == expected


def test_never_proposes_a_seen_genome() -> None:
    space = ToyIntVector()
    strategy = BayesianOptimisation(space, SPECS, seed=0, **LIGHT)
    seen: set[str] = set()
    for step in range(12):
        genomes = strategy.ask(3)
        digests = {space.genome_hash(g) for g in genomes}
        assert len(digests) == 3 and not digests & seen
        seen |= digests
        strategy.tell(told(space, genomes, 3 * step))


def test_pending_genomes_are_neither_repeated_nor_crowded() -> None:
    space = ToyIntVector()
    strategy = BayesianOptimisation(space, SPECS, seed=2, **LIGHT)
    for step in range(10):
        strategy.tell(told(space, strategy.ask(1), step))
    state = json.loads(json.dumps(strategy.state_dict()))
    alone = strategy.ask(3)  # what one worker would ask for with nothing pending
    other = BayesianOptimisation(space, SPECS, seed=2, **LIGHT)
    other.load_state_dict(state)
    beside = other.ask(3, pending=alone[:2])  # two of them already run in other workers
    digests = {space.genome_hash(g) for g in beside}
    assert not digests & {space.genome_hash(g) for g in alone[:2]}
    assert len(digests) == 3


def test_failed_results_are_not_regressed_on() -> None:
    space = ToyIntVector()
    strategy = BayesianOptimisation(space, SPECS, seed=0, **{**LIGHT, "initial": 2})
    genomes = strategy.ask(4)
    strategy.tell(told(space, genomes[:2])
                  + [TrialResult(2, genomes[2], "failed"), TrialResult(3, None, "failed")])
    assert len(strategy.state_dict()["observations"]) == 2
    assert len(strategy.ask(2)) == 2


def test_unknown_surrogate_names_the_installed_ones() -> None:
    with pytest.raises(PluginError, match="unknown surrogate 'xgbost'. Did you mean 'xgboost'"):
        BayesianOptimisation(ToyIntVector(), SPECS, surrogate="xgbost")


def test_surrogate_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="surrogate_options, modles = 3: unknown key"):
        BayesianOptimisation(ToyIntVector(), SPECS, surrogate_options={"modles": 3})
    with pytest.raises(ConfigError, match="surrogate_options, models = 3: unknown key"):
        BayesianOptimisation(ToyIntVector(), SPECS, surrogate="gp",
                             surrogate_options={"models": 3})


def test_gp_is_the_default_but_tree_options_keep_xgboost() -> None:
    assert BayesianOptimisation(ToyIntVector(), SPECS).surrogate == "gp"
    # configs (and stored studies) written when xgboost was the default
    legacy = BayesianOptimisation(ToyIntVector(), SPECS, surrogate_options={"models": 3})
    assert legacy.surrogate == "xgboost"
    chosen = BayesianOptimisation(ToyIntVector(), SPECS, surrogate="lightgbm",
                                  surrogate_options={"models": 3})
    assert chosen.surrogate == "lightgbm"


# --- surrogate quality reports ------------------------------------------------------------------


def run_alone(strategy: BayesianOptimisation, space: ToyIntVector, steps: int
              ) -> tuple[list[list], list[SurrogateReport]]:
    """Ask one genome and tell its result ``steps`` times; the genomes and the reports."""
    genomes, reports = [], []
    for step in range(steps):
        asked = strategy.ask(1)
        genomes.append(asked)
        strategy.tell(told(space, asked, step))
        reports += strategy.surrogate_reports()
    return genomes, reports


def test_reports_every_n_observations_from_the_first_refit() -> None:
    space = ToyIntVector()
    options = {**LIGHT, "surrogate_report_every": 5, "surrogate_report_folds": 4}
    _, reports = run_alone(BayesianOptimisation(space, SPECS, seed=1, **options), space, 18)
    # the first refit is at 6 observations (``initial``); then every 5 more
    assert [(r.observations, r.objective) for r in reports] == [
        (n, name) for n in (6, 11, 16) for name in ("error", "params")]
    assert all(r.folds == 4 and r.surrogate == "gp" for r in reports)
    # params is a sum of products of the encoded widths: a GP ranks it well from 16 rows
    last = {r.objective: r for r in reports[-2:]}
    assert last["params"].kendall_tau is not None and last["params"].kendall_tau > 0.5
    assert all(-1 <= r.kendall_tau <= 1 and r.rmse > 0 for r in reports if r.kendall_tau)


def test_reports_change_no_proposal_and_can_be_turned_off() -> None:
    space = ToyIntVector()
    every = BayesianOptimisation(space, SPECS, seed=2, **{**LIGHT, "surrogate_report_every": 1})
    never = BayesianOptimisation(space, SPECS, seed=2, **{**LIGHT, "surrogate_report_every": 0})
    genomes_every, reports = run_alone(every, space, 10)
    genomes_never, none = run_alone(never, space, 10)
    assert genomes_every == genomes_never
    assert [r.observations for r in reports[::2]] == [6, 7, 8, 9] and none == []


def test_state_keeps_when_the_last_report_was_made() -> None:
    space = ToyIntVector()
    options = {**LIGHT, "surrogate_report_every": 3}
    a = BayesianOptimisation(space, SPECS, seed=3, **options)
    run_alone(a, space, 8)  # reports at 6 observations
    state = json.loads(json.dumps(a.state_dict()))
    assert state["reported"] == 6
    b = BayesianOptimisation(space, SPECS, seed=3, **options)
    b.load_state_dict(state)
    _, reports = run_alone(b, space, 3)  # 8, 9, 10 observations: the next report at 9
    assert {r.observations for r in reports} == {9}
    del state["reported"]  # a state saved before reports existed
    c = BayesianOptimisation(space, SPECS, seed=3, **options)
    c.load_state_dict(state)
    _, reports = run_alone(c, space, 1)
    assert {r.observations for r in reports} == {8}


def test_the_engine_stores_reports_of_a_benchmark_run(storage: str) -> None:
    run_study(config(storage, "zdt1_int", trials=27,
                     options={"initial": 10, "surrogate_report_every": 8}))
    store = Store(storage)
    rows = queries.surrogate_reports(store, queries.get_study(store, "s").id)
    assert [(r.objective, r.observations) for r in rows] == [
        (name, n) for name in ("f1", "f2") for n in (10, 18, 26)]
    assert all(r.folds == 5 and r.surrogate == "gp" for r in rows)
    # f1 is the first variable itself, f2 a function of all ten: f1 is ranked well from
    # the first report on, and better than f2 at every report
    f1, f2 = rows[:3], rows[3:]
    assert all(a.kendall_tau > 0.5 and a.kendall_tau > b.kendall_tau
               for a, b in zip(f1, f2, strict=True))


# --- the acquisition ------------------------------------------------------------------------------


@pytest.mark.parametrize("m", [2, 3, 4])
def test_hv_improvement_matches_pymoo(m: int) -> None:
    rng = np.random.default_rng(m)
    front = rng.random((6, m))
    points = rng.random((20, m)) * 1.2
    ref = np.full(m, 1.1)
    indicator = HV(ref_point=ref)
    expected = [indicator(np.vstack([front, p])) - indicator(front) for p in points]
    np.testing.assert_allclose(hv_improvement(points, front, ref), expected, atol=1e-12)
    np.testing.assert_allclose(hv_improvement(points, front[:0], ref),
                               np.prod(np.clip(ref - points, 0, None), axis=1), atol=1e-12)


@pytest.mark.parametrize("m", [2, 3])
def test_improvement_boxes_tile_the_region_no_member_dominates(m: int) -> None:
    rng = np.random.default_rng(10 + m)
    front, ref = rng.random((8, m)), np.full(m, 1.0)
    lower, upper = improvement_boxes(front, ref)
    # disjoint, and together as large as the box below ref minus the dominated volume
    finite = np.maximum(lower, 0.0)
    assert np.isclose(np.prod(upper - finite, axis=1).sum(), 1.0 - HV(ref_point=ref)(front))
    points = rng.random((2000, m))
    inside = ((points[:, None, :] >= lower) & (points[:, None, :] < upper)).all(axis=2)
    dominated = (front[None, :, :] <= points[:, None, :]).all(axis=2).any(axis=1)
    assert np.array_equal(inside.sum(axis=1), (~dominated).astype(int))


@pytest.mark.parametrize("m", [2, 3])
def test_exact_ehvi_matches_monte_carlo(m: int) -> None:
    rng = np.random.default_rng(20 + m)
    front, ref = rng.random((7, m)), np.full(m, 1.1)
    mean, std = rng.random((6, m)), rng.random((6, m)) * 0.3
    z = rng.standard_normal((100_000, m))
    np.testing.assert_allclose(expected_hv_improvement(mean, std, front, ref),
                               mc_expected_hv_improvement(mean, std, z, front, ref),
                               rtol=0.03, atol=2e-4)


def test_ehvi_with_no_spread_is_the_improvement_of_the_mean() -> None:
    front, ref = np.array([[0.2, 0.8], [0.8, 0.2]]), np.ones(2)
    mean = np.array([[0.5, 0.5], [0.9, 0.9]])
    ehvi = expected_hv_improvement(mean, np.zeros_like(mean), front, ref)
    np.testing.assert_allclose(ehvi, hv_improvement(mean, front, ref))
    assert ehvi[0] > 0 == ehvi[1]


def test_greedy_batch_spreads_along_the_front() -> None:
    # two candidates at the same spot and one elsewhere: after picking the first, the copy
    # gains nothing, so the batch takes the other
    mean = np.array([[0.3, 0.3], [0.3, 0.3], [0.05, 0.9]])
    std = np.zeros_like(mean)
    picks = greedy_batch(2, mean, std, np.array([[0.5, 0.5]]), np.ones(2), np.ones(3))
    assert picks == [0, 2]


def test_reference_point_is_past_the_nadir() -> None:
    Y = np.array([[0.0, 10.0], [1.0, 30.0]])
    np.testing.assert_allclose(reference_point(Y), [1.1, 32.0])


@pytest.mark.parametrize("m", [2, 3])
def test_a_floor_counts_values_beyond_it_as_reaching_it(m: int) -> None:
    rng = np.random.default_rng(30 + m)
    front, ref = rng.random((6, m)), np.full(m, 1.1)
    floor = np.full(m, -np.inf)
    floor[0] = 0.0
    points = rng.random((40, m)) * 1.4 - 0.3  # some beyond the floor in objective 0
    clipped = points.copy()
    clipped[:, 0] = np.maximum(clipped[:, 0], 0.0)
    np.testing.assert_allclose(hv_improvement(points, front, ref, floor),
                               hv_improvement(clipped, front, ref), atol=1e-12)
    lower, _ = improvement_boxes(front, ref, floor)
    assert (lower[:, 0] >= 0).all()
    # EHVI under the floor: the normal's mass beyond it counts as landing on it
    mean, std = rng.random((5, m)) * 0.3, rng.random((5, m)) * 0.3 + 0.05
    z = rng.standard_normal((100_000, m))
    np.testing.assert_allclose(expected_hv_improvement(mean, std, front, ref, floor),
                               mc_expected_hv_improvement(mean, std, z, front, ref, floor),
                               rtol=0.03, atol=2e-4)


def test_no_credit_for_a_prediction_past_a_bound_the_front_touches() -> None:
    # the front touches f1's bound 0 at f2 = 0.6; a candidate predicted at f1 = 0 +- 0.2 and
    # f2 = 0.9 improves only by the chance of f1 < 0, which the bound rules out
    front, ref = np.array([[0.0, 0.6], [0.5, 0.2]]), np.ones(2)
    mean, std = np.array([[0.0, 0.9]]), np.array([[0.2, 0.0]])
    assert expected_hv_improvement(mean, std, front, ref)[0] > 0.005  # 0.2 / sqrt(2 pi) x 0.1
    assert expected_hv_improvement(mean, std, front, ref, np.array([0.0, -np.inf]))[0] == 0


def test_declared_best_values_become_floors_in_minimisation_form() -> None:
    specs = [ObjectiveSpec("accuracy", "max", best=1.0), ObjectiveSpec("params", "min"),
             ObjectiveSpec("error", "min", best=0.0)]
    strategy = BayesianOptimisation(ToyIntVector(), specs, seed=0, **LIGHT)
    np.testing.assert_array_equal(strategy.best, [-1.0, -np.inf, 0.0])


def test_bounds_keep_zdt2_off_the_tail_below_its_ideal(tmp_path) -> None:
    """ZDT2, seed 6: the first front is one point at f1 = 0 (x1's bound). Without bounds the
    surrogate's tail below f1 = 0 drew evaluations there for ~30 trials; with zdt2_int's
    declared bounds (every objective >= 0) the search moves along the front."""
    volumes = {}
    for bounded in (True, False):
        url = f"sqlite:///{tmp_path / f'{bounded}.db'}"
        cfg = config(url, space="zdt2_int", trials=40, seed=6, options={"initial": 10})
        if not bounded:  # the same objectives, bounds declared out of reach
            cfg["objectives"] = [{"name": "f1", "best": -1e9}, {"name": "f2", "best": -1e9}]
        run_study(cfg)
        values = [[t.values["f1"], t.values["f2"]]
                  for t in load_study("s", url).trials(["complete"])]
        volumes[bounded] = hypervolume(values, ["min", "min"], [1.1, 8.574])
    assert volumes[True] > volumes[False] + 0.02, volumes


def test_coordinate_search_needs_int_bounds() -> None:
    with pytest.raises(ConfigError, match="int_bounds"):
        BayesianOptimisation(ToyGeneList(), SPECS, local_search="coordinate")


@pytest.mark.parametrize("name", ["zdt1_int", "moe_mobilevit", "dense_prune"])
def test_proposals_keep_the_genome_type_of_every_bundled_integer_space(name: str) -> None:
    """The coordinate search climbs lists of ints; dense_prune's masks are tuples."""
    from nasplat import registry

    space = registry.get().lookup("spaces", name).cls()
    rng = np.random.default_rng(0)
    strategy = BayesianOptimisation(space, [ObjectiveSpec("a", "min", 0.0),
                                            ObjectiveSpec("b", "max", 1.0)], seed=0)
    genomes = [space.sample(rng) for _ in range(12)]
    strategy.tell([TrialResult(i, g, "complete", {"a": float(rng.random()),
                                                  "b": float(rng.random())})
                   for i, g in enumerate(genomes)])
    for genome in strategy.ask(3):
        assert type(genome) is type(genomes[0])
        space.validate(genome)


def test_a_declared_best_that_a_result_beat_is_ignored() -> None:
    specs = [ObjectiveSpec("error", "min", best=5.0), ObjectiveSpec("params", "min", best=0.0),
             ObjectiveSpec("latency", "min")]
    strategy = BayesianOptimisation(ToyIntVector(), specs, seed=0, **LIGHT)
    # observed bests 2 (beats the declared 5: ignored), 10 and 3, ranges 4, 20 and 1
    floors = strategy._floors(np.array([2.0, 10.0, 3.0]), np.array([4.0, 20.0, 1.0]))
    np.testing.assert_array_equal(floors, [-np.inf, -0.5, -np.inf])
