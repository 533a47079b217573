"""A toy space with a third metric and a report section, and a stored study of it with every
kind of trial: Pareto members, dominated, infeasible with and without values, and failed."""

from __future__ import annotations

from html import escape
from typing import Any

import pytest

from nasplat import hookimpl, load_study, registry, run_study
from nasplat.store import queries, writes
from nasplat.study import Study
from spaces_for_failures import FlakySpace


class Flaky3(FlakySpace):
    """FlakySpace's integer vectors with a third metric, ``spread``; some genomes fail."""

    name = "flaky3"

    def evaluate(self, genome: Any) -> dict[str, float]:
        return {**super().evaluate(genome), "spread": float(max(genome) - min(genome))}

    def report_sections(self, study: Study) -> list[tuple[str, str]]:
        """One section: how often each first gene was tried (what decides failure here)."""
        firsts = [t.genome[0] for t in study.trials()]
        rows = "".join(f"<li>gene {g}: {firsts.count(g)} trials</li>" for g in sorted(set(firsts)))
        return [("First genes", f"<ul>{rows}</ul><p>{escape('<genes> & failures')}</p>")]


@hookimpl
def nasplat_register_spaces(register: Any) -> None:
    """Register ``flaky3``."""
    register(Flaky3)


if "plot_toys" not in registry.get().info:
    import plot_toys

    registry.get().add(plot_toys, "plot_toys", "nasplat-tests", "0")


@pytest.fixture(scope="session")
def mixed_study(tmp_path_factory: pytest.TempPathFactory) -> Study:
    """(Read only: shared by every test.) 40 trials of ``flaky3`` on error, params and
    spread: a cheap constraint (params) makes some infeasible before evaluation, an expensive
    one (error) some after; three trials have learning curves written to the store."""
    storage = f"sqlite:///{tmp_path_factory.mktemp('plots') / 'store.db'}"
    run_study({"study": "mixed", "space": "flaky3", "budget": {"trials": 40},
               "objectives": ["error", "params", {"name": "spread", "direction": "max"}],
               "seed": 1, "storage": storage,
               "constraints": {"params": {"max": 1000}, "error": {"max": 80}}})
    study = load_study("mixed", storage)
    for row in queries.trials(study.store, study.row.id or 0, ["complete"])[:3]:
        for step in range(4):  # a learning curve of four epochs, two metrics
            writes.record_intermediate(study.store, row.id or 0, step, "val_loss", 1 / (step + 1))
            writes.record_intermediate(study.store, row.id or 0, step, "train_loss", 2.0 - step)
    return study
