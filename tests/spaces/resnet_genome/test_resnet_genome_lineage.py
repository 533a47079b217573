"""Weight inheritance through the engine: children of trial 0 start from its trained weights."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasplat import hookimpl, load_study, registry, run_study
from nasplat.strategy import Proposal, TrialResult


class MutantsOfFirst:
    """Trial 0 is sampled; every later trial is a one-gene mutant of it."""

    name = "mutants-of-first"

    def __init__(self, space: Any, objectives: Any, seed: int = 0) -> None:
        self.space, self.rng = space, np.random.default_rng(seed)
        self.first: Any = None

    def ask(self, n: int) -> list[Any]:
        out: list[Any] = []
        for _ in range(n):
            if self.first is None:
                self.first = self.space.sample(self.rng)
                out.append(self.first)
            else:
                out.append(Proposal(self.space.mutate(self.first, self.rng), parents=(0,)))
        return out

    def tell(self, results: Sequence[TrialResult]) -> None:
        """Learns nothing."""


class Plugin:
    @hookimpl
    def nasplat_register_strategies(self, register: Any) -> None:
        register(MutantsOfFirst)


def test_children_start_from_the_parents_weights(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NASPLAT_CACHE_DIR", str(tmp_path / "cache"))
    storage = f"sqlite:///{tmp_path / 'store.db'}"
    registry.get().add(Plugin(), "mutants-of-first-plugin")
    try:
        run_study({"study": "l", "space": {"name": "resnet_genome", "options": {
                       "input_shape": [3, 16, 16], "max_channels": 16, "init_length": 4}},
                   "strategy": "mutants-of-first", "budget": {"trials": 3}, "storage": storage,
                   "dataset": {"name": "synthetic_person", "options": {
                       "image_size": 16, "train": 32, "validation": 16, "test": 4, "ood": 2}},
                   "trainer": {"steps": 2, "batch_size": 16, "keep_weights": "all"}})
    finally:
        registry.get().remove("mutants-of-first-plugin")
    trials = load_study("l", storage).trials()
    assert [t.status for t in trials] == ["complete"] * 3, [t.error for t in trials]
    assert [t.parents for t in trials] == [[], [0], [0]]
    assert all(t.metrics["inherited"] == 1.0 for t in trials[1:])
