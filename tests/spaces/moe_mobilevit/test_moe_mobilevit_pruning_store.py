"""Pruning iterations in the result store: kept steps complete, the rejected one infeasible."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasplat.spaces.moe_mobilevit.pruning import PruneStep, store_steps
from nasplat.store import Store, queries, writes
from nasplat.study import Study, load_study

DIRECTIONS = [{"name": "test_accuracy", "direction": "max"},
              {"name": "overfitting", "direction": "min"}]


def steps() -> list[PruneStep]:
    def m(val: float) -> dict[str, float]:
        return {"val_accuracy": val, "test_accuracy": val - 0.1, "overfitting": 0.1}

    return [PruneStep(0, None, None, [3, 1, 1, 1, 1, 1, 1, 1, 2], 1_200_000, m(0.90)),
            PruneStep(1, (0, 2), 0.05, [2, 1, 1, 1, 1, 1, 1, 1, 2], 1_150_000, m(0.895)),
            PruneStep(2, (8, 0), 0.2, [2, 1, 1, 1, 1, 1, 1, 1, 1], 1_100_000, m(0.85),
                      kept=False)]


def test_steps_are_stored_as_a_chain_with_the_rejected_step_infeasible(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = Store(url, create=True)
    source = Study(store, writes.create_study(store, "moe", "moe_mobilevit", "bo", {},
                                              DIRECTIONS))
    files = {"json": "/out/pruning.json", "plot": "/out/pruning.png"}
    name, numbers = store_steps(source, 4, steps(), 0.01, files, "/out/pruned.pt")
    assert (name, numbers) == ("moe.trial4.pruning", [0, 1, 2])
    study = load_study(name, url)
    assert study.directions == [("params", "min"), ("val_accuracy", "max"),
                                ("test_accuracy", "max"), ("overfitting", "min")]
    assert study.config == {"source_study": "moe", "source_trial": 4}
    trials = study.trials()
    assert [t.status for t in trials] == ["complete", "complete", "infeasible"]
    assert [t.parents for t in trials] == [[], [0], [1]]
    assert trials[2].violation == pytest.approx(0.04)  # a 5-point drop, 1 allowed
    assert trials[1].genome == {"experts": [2, 1, 1, 1, 1, 1, 1, 1, 2], "removed": [0, 2]}
    assert trials[0].genome["removed"] is None and "removed_layer" not in trials[0].metrics
    assert trials[1].metrics["removed_usage"] == pytest.approx(0.05)
    assert [t.metrics["experts"] for t in trials] == [12, 11, 10]
    assert [t.metrics["kept"] for t in trials] == [1, 1, 0]
    assert trials[1].values == {"params": 1_150_000, "val_accuracy": 0.895,
                                "test_accuracy": pytest.approx(0.795), "overfitting": 0.1}
    assert queries.artifacts(store, queries.trial_ids(store, study.row.id, [1])[1]) == {
        **files, "pruned_model": "/out/pruned.pt"}  # the smallest model kept

    _, again = store_steps(source, 4, steps()[:2], 0.01, files, "/out/pruned.pt")
    assert again == [3, 4]
    assert [t.metrics["run"] for t in load_study(name, url).trials()] == [1, 1, 1, 2, 2]
