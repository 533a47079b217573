"""Derived studies: a command's results stored as trials, chained, beside an earlier run's."""

from __future__ import annotations

import pytest

from nasplat.derived import DerivedTrial, store_derived
from nasplat.store import Store, queries, writes
from nasplat.study import Study, load_study

MAX = [{"name": "accuracy", "direction": "max"}]


def source_study(storage: str) -> Study:
    store = Store(storage, create=True)
    return Study(store, writes.create_study(store, "src", "toy_space", "random", {"seed": 0},
                                            MAX))


def test_results_become_chained_trials_of_a_new_study(storage: str) -> None:
    source = source_study(storage)
    name, numbers = store_derived(source, "steps", "walk", {"limit": 2}, MAX, [
        DerivedTrial({"step": 0}, {"accuracy": 0.9}, artifacts={"log": "/tmp/a.json"}),
        DerivedTrial({"step": 1}, {"accuracy": 0.8}, parent=0),
        DerivedTrial({"step": 2}, {"accuracy": 0.5}, "infeasible", 0.3, parent=1)])
    assert (name, numbers) == ("src.steps", [0, 1, 2])
    study = load_study("src.steps", storage)
    assert study.row.space == "toy_space" and study.row.strategy == "walk"
    assert study.config == {"source_study": "src", "limit": 2}
    trials = study.trials()
    assert [t.genome for t in trials] == [{"step": 0}, {"step": 1}, {"step": 2}]
    assert [t.status for t in trials] == ["complete", "complete", "infeasible"]
    assert trials[2].violation == pytest.approx(0.3)
    assert [t.parents for t in trials] == [[], [0], [1]]
    assert trials[1].values == {"accuracy": 0.8}
    assert trials[0].genome_hash != trials[1].genome_hash
    assert [t.number for t in study.pareto_front()] == [0]


def test_a_second_run_adds_trials_and_takes_over_rewritten_files(storage: str) -> None:
    source = source_study(storage)
    files = {"log": "/tmp/run/log.json", "plot": "/tmp/run/plot.png"}
    first = [DerivedTrial({"k": 1}, {"accuracy": 0.5}, artifacts=files),
             DerivedTrial({"k": 2}, {"accuracy": 0.6}, artifacts={"other": "/tmp/x"})]
    store_derived(source, "e", "ensemble", {}, MAX, first)
    # the second run writes the same log, and its plot elsewhere
    _, numbers = store_derived(source, "e", "ensemble", {}, MAX, [DerivedTrial(
        {"k": 1}, {"accuracy": 0.5}, artifacts={"log": files["log"], "plot": "/tmp/b.png"})])
    assert numbers == [2]
    store = source.store
    ids = queries.trial_ids(store, queries.get_study(store, "src.e").id, [0, 1, 2])
    assert queries.artifacts(store, ids[0]) == {"plot": files["plot"]}
    assert queries.artifacts(store, ids[1]) == {"other": "/tmp/x"}
    assert queries.artifacts(store, ids[2]) == {"log": files["log"], "plot": "/tmp/b.png"}


def test_a_parent_must_be_an_earlier_result(storage: str) -> None:
    with pytest.raises(ValueError, match="parent 1 is not an earlier result"):
        store_derived(source_study(storage), "x", "walk", {}, MAX,
                      [DerivedTrial({}, {"accuracy": 1.0}, parent=1)])
