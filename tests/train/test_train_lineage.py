"""Lineage and weights through the engine: parents reach the evaluator, dominated weights go."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasplat import hookimpl, load_study, registry, run_study
from nasplat.store import Store, queries
from nasplat.strategy import Proposal, TrialResult

TRAINER = {"epochs": 2, "batch_size": 32, "lr": 0.01}


class FromFirst:
    """Trial 0 is sampled; every later trial is a mutant of trial 0, trained for 1 epoch."""

    name = "from-first"

    def __init__(self, space: Any, objectives: Any, seed: int = 0) -> None:
        self.space, self.rng = space, np.random.default_rng(seed)
        self.first: Any = None
        self.asked = 0

    def ask(self, n: int) -> list[Any]:
        out: list[Any] = []
        for _ in range(n):
            if self.asked == 0:
                self.first = self.space.sample(self.rng)
                out.append(self.first)
            else:
                out.append(Proposal(self.space.mutate(self.first, self.rng), parents=(0,),
                                    fidelity=1.0))
            self.asked += 1
        return out

    def tell(self, results: Sequence[TrialResult]) -> None:
        """Learns nothing."""


class Plugin:
    @hookimpl
    def nasplat_register_strategies(self, register: Any) -> None:
        register(FromFirst)


def test_children_inherit_from_their_parent(storage: str) -> None:
    registry.get().add(Plugin(), "from-first-plugin")
    try:
        run_study({"study": "l", "space": "train_mlp", "strategy": "from-first",
                   "budget": 4, "storage": storage, "trainer": {**TRAINER, "keep_weights": "all"}})
    finally:
        registry.get().remove("from-first-plugin")
    trials = load_study("l", storage).trials()
    assert [t.parents for t in trials] == [[], [0], [0], [0]]
    assert "inherited" not in trials[0].metrics
    assert all(t.metrics["inherited"] == 1.0 for t in trials[1:])  # the parent's weights loaded
    assert all(t.metrics["epochs"] == 1 for t in trials[1:]) and trials[0].metrics["epochs"] == 2
    store = Store(storage)
    rows = queries.trials(store, queries.get_study(store, "l").id)
    assert [r.fidelity for r in rows] == [None, 1.0, 1.0, 1.0]


def test_only_pareto_weights_are_kept(storage: str, tmp_path: Path) -> None:
    folder = tmp_path / "files"
    run_study({"study": "w", "space": "train_mlp", "budget": 6, "storage": storage,
               "trainer": TRAINER, "objectives": ["val_accuracy", "params"],
               "artifacts": str(folder)})
    study = load_study("w", storage)
    front = {t.number for t in study.pareto_front()}
    store = Store(storage)
    kept = {}
    for row in queries.trials(store, study.row.id):
        kept[row.number] = queries.artifacts(store, row.id).get("weights")
    assert front and {n for n, path in kept.items() if path} == front
    for number in front:
        assert Path(kept[number]).is_file()
        assert Path(kept[number]).is_relative_to(folder / "w")
    assert len(list(folder.rglob("*.pt"))) == len(front)


def test_weights_go_beside_a_sqlite_store_by_default(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'beside.db'}"
    run_study({"study": "b", "space": "train_mlp", "budget": 1, "storage": url,
               "trainer": {**TRAINER, "keep_weights": "all"}})
    assert len(list((tmp_path / "beside.db.artifacts" / "b").rglob("*.pt"))) == 1
