"""Running a comparison's grid: one study per space, strategy and seed, resumed by name."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn)

from nasplat.config import validate_config
from nasplat.engine import ProgressListener
from nasplat.errors import ConfigError, StoreError
from nasplat.problem import make_strategy, resolve
from nasplat.store import Store, StudyRow, TrialRow, queries
from nasplat.study import run_study


@dataclass(frozen=True)
class Cell:
    """One run of the grid."""

    space: str
    strategy: str
    seed: int
    study: str


def cells(name: str, spaces: Sequence[str], strategies: Sequence[str], seeds: int) -> list[Cell]:
    """The grid's runs, space by space, seed by seed, strategy by strategy; study names are
    ``{name}/{space}/{strategy}/seed{k}``."""
    if "/" in name:
        raise ConfigError(f"comparison name {name!r}: leave '/' out, it separates the parts "
                          f"of the study names ({name.replace('/', '-')!r} would do)")
    return [Cell(space, strategy, k, f"{name}/{space}/{strategy}/seed{k}")
            for space in spaces for k in range(seeds) for strategy in strategies]


def config(cell: Cell, budget: int, storage: str) -> dict[str, Any]:
    """The study config of a cell: the space's and strategy's defaults, the seed, the budget."""
    return {"study": cell.study, "space": cell.space, "strategy": cell.strategy,
            "seed": cell.seed, "budget": {"trials": budget}, "storage": storage}


def check(spaces: Sequence[str], strategies: Sequence[str], storage: str) -> None:
    """Build every space and every strategy on it once, so that a bad name or an unsuitable
    pairing fails before the first run rather than halfway through the grid."""
    for space in spaces:
        problem = resolve(validate_config({"space": space, "storage": storage},
                                          f"space '{space}'"))
        for strategy in strategies:
            chosen = validate_config({"space": space, "strategy": strategy, "storage": storage},
                                     f"strategy '{strategy}'")
            make_strategy(dataclasses.replace(problem, config=chosen))


def finished(store: Store | None, cell: Cell, budget: int) -> bool:
    """Whether the cell's study has spent ``budget`` evaluations and has nothing queued."""
    if store is None:
        return False
    row = queries.find_study(store, cell.study)
    if row is None or row.id is None:
        return False
    counts = queries.status_counts(store, row.id)
    pending = counts.get("queued", 0) + counts.get("running", 0)
    return not pending and counts.get("complete", 0) + counts.get("failed", 0) >= budget


def run_grid(grid: Sequence[Cell], budget: int, storage: str,
             progress: GridProgress | None = None) -> tuple[int, int]:
    """Run every unfinished cell to ``budget``; ``(runs made, runs skipped as finished)``."""
    ran = skipped = 0
    store: Store | None = None
    for cell in grid:
        if store is None:
            try:
                store = Store(storage)
            except StoreError:  # no store yet: the first run creates it
                pass
        if finished(store, cell, budget):
            skipped += 1
        else:
            run_study(config(cell, budget, storage), listener=progress)
            ran += 1
        if progress:
            progress.cell_done(cell)
    return ran, skipped


class GridProgress(ProgressListener):
    """Two rich bars: runs of the grid, and trials of the current run."""

    def __init__(self, total: int, console: Console | None = None) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console or Console(stderr=True))
        self.grid = self.progress.add_task("runs", total=total)
        self.trials: Any = None

    def __enter__(self) -> GridProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def start(self, study: StudyRow, total: int | None, done: int) -> None:
        """A run starts (or resumes with ``done`` trials)."""
        if self.trials is not None:
            self.progress.remove_task(self.trials)
        self.trials = self.progress.add_task(study.name, total=total, completed=done)

    def trial_finished(self, trial: TrialRow, metrics: dict[str, float]) -> None:
        """One more trial of the current run."""
        if self.trials is not None and trial.status != "infeasible":
            self.progress.advance(self.trials)

    def cell_done(self, cell: Cell) -> None:
        """One more run of the grid (made now, or found finished)."""
        self.progress.advance(self.grid)
