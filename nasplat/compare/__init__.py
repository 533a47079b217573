"""Comparing strategies: a grid of studies, hypervolume curves, statistics and plots.

``compare`` runs (or resumes) one study per space, strategy and seed, named
``{name}/{space}/{strategy}/seed{k}``, then summarises them; ``load`` summarises what a store
holds under a name without running anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nasplat.compare.curves import Run, hv_curve, load_runs, reference_point
from nasplat.compare.grid import Cell, GridProgress, cells, check, run_grid
from nasplat.compare.plot import plot_curves
from nasplat.compare.report import SpaceSummary, StrategySummary, render, summarise
from nasplat.compare.stats import UTest, mann_whitney_u
from nasplat.errors import ConfigError, StudyNotFound
from nasplat.store import Store


@dataclass
class Comparison:
    """What a comparison found: per space, the strategies' hypervolume statistics."""

    name: str
    budget: int
    spaces: list[SpaceSummary]
    ran: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)

    def plot(self, folder: Path) -> Path:
        """The curves as ``{folder}/{name}-hv.png``."""
        return plot_curves(self.spaces, Path(folder) / f"{self.name}-hv.png", self.name)


def compare(name: str, spaces: Sequence[str], strategies: Sequence[str], seeds: int,
            budget: int, storage: str, progress: GridProgress | None = None) -> Comparison:
    """Run the grid's unfinished studies to ``budget`` evaluations, then summarise the grid."""
    if seeds < 1 or budget < 1:
        raise ConfigError(f"compare needs at least one seed and a budget of at least one "
                          f"trial (got --seeds {seeds}, --budget {budget})")
    grid = cells(name, spaces, strategies, seeds)
    check(spaces, strategies, storage)
    ran, skipped = run_grid(grid, budget, storage, progress)
    wanted = {c.study for c in grid}
    runs = [r for r in load_runs(Store(storage), name) if r.study in wanted]
    return Comparison(name, budget, summarise(_ordered(runs, grid), budget), ran, skipped)


def load(name: str, storage: str, budget: int | None = None) -> Comparison:
    """Summarise every stored study of comparison ``name``, running nothing; the budget is
    the most evaluations any of them has, unless given."""
    runs = load_runs(Store(storage), name)
    if not runs:
        raise StudyNotFound(f"no comparison '{name}' in {storage}: no study is named "
                            f"'{name}/...' there (`nasplat studies` lists the studies)")
    budget = budget or max(r.evaluations for r in runs)
    return Comparison(name, budget, summarise(runs, budget))


def _ordered(runs: list[Run], grid: Sequence[Cell]) -> list[Run]:
    order = {c.study: i for i, c in enumerate(grid)}
    return sorted(runs, key=lambda r: order[r.study])


__all__ = ["Cell", "Comparison", "GridProgress", "Run", "SpaceSummary", "StrategySummary",
           "UTest", "compare", "hv_curve", "load", "mann_whitney_u", "plot_curves",
           "reference_point", "render"]
