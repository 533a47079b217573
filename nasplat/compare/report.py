"""A comparison's summary per space: hypervolume at checkpoints, ranks, speed, U tests."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from nasplat.compare.curves import Run, hv_curve, reference_point, to_directions
from nasplat.compare.stats import UTest, mann_whitney_u, mean_sd, ranks

CHECKPOINTS = (0.25, 0.5, 1.0)
"""Fractions of the budget at which the table reports hypervolume."""


@dataclass
class StrategySummary:
    """One strategy on one space, over its seeds."""

    strategy: str
    seeds: list[int]
    curves: np.ndarray
    """(seeds, budget) hypervolume after each evaluation."""
    at: dict[float, tuple[float, float]] = field(default_factory=dict)
    """Checkpoint fraction -> (mean, sd) hypervolume."""
    mean_rank: float = math.nan
    evals_to_match: int | None = None
    """Evaluations its mean curve needs to reach the best competitor's final mean (None: never)."""
    test: UTest | None = None
    """U test of its final hypervolumes against the best strategy's (None for the best)."""

    @property
    def final(self) -> np.ndarray:
        """Final hypervolume of each seed."""
        return self.curves[:, -1]


@dataclass
class SpaceSummary:
    """Every strategy on one space, against one reference point."""

    space: str
    objectives: tuple[str, ...]
    reference: list[float]
    """In the objectives' own directions."""
    budget: int
    strategies: list[StrategySummary]
    best: str
    short_runs: list[str] = field(default_factory=list)
    """Studies with fewer evaluations than the budget (unfinished, or the space ran out)."""

    def checkpoints(self) -> list[int]:
        """The evaluation counts of ``CHECKPOINTS``."""
        return [checkpoint(self.budget, f) for f in CHECKPOINTS]


def checkpoint(budget: int, fraction: float) -> int:
    """Evaluations at ``fraction`` of the budget (at least one)."""
    return max(1, math.ceil(fraction * budget))


def summarise(runs: Sequence[Run], budget: int) -> list[SpaceSummary]:
    """Per space (in order of first appearance): curves, checkpoints, ranks, U tests."""
    spaces = list(dict.fromkeys(r.space for r in runs))
    return [summarise_space([r for r in runs if r.space == s], budget) for s in spaces]


def summarise_space(runs: Sequence[Run], budget: int) -> SpaceSummary:
    """The summary of one space's runs."""
    ref = reference_point(runs, budget)
    first = runs[0]
    by_strategy: dict[str, list[Run]] = {}
    for run in runs:
        by_strategy.setdefault(run.strategy, []).append(run)
    rows = []
    for strategy, group in by_strategy.items():
        group = sorted(group, key=lambda r: r.seed)
        curves = np.array([hv_curve(r, ref, budget) for r in group])
        row = StrategySummary(strategy, [r.seed for r in group], curves)
        for f in CHECKPOINTS:
            row.at[f] = mean_sd(curves[:, checkpoint(budget, f) - 1].tolist())
        rows.append(row)
    _rank(rows)
    best = max(rows, key=lambda r: r.at[1.0][0])
    for row in rows:
        others = [r.at[1.0][0] for r in rows if r is not row]
        if others:
            mean_curve = row.curves.mean(axis=0)
            reached = np.flatnonzero(mean_curve >= max(others))
            row.evals_to_match = int(reached[0]) + 1 if len(reached) else None
        if row is not best:
            row.test = mann_whitney_u(row.final.tolist(), best.final.tolist())
    short = [r.study for r in runs if r.evaluations < budget]
    return SpaceSummary(first.space, first.objectives, to_directions(ref, first.directions),
                        budget, rows, best.strategy, short)


def _rank(rows: list[StrategySummary]) -> None:
    """Mean rank of each strategy's final hypervolume over the seeds all strategies ran
    (1 = largest; ties share the average rank)."""
    common = set.intersection(*(set(r.seeds) for r in rows))
    totals = {id(r): 0.0 for r in rows}
    for seed in sorted(common):
        finals = [float(r.final[r.seeds.index(seed)]) for r in rows]
        for r, rank in zip(rows, ranks([-v for v in finals]), strict=True):
            totals[id(r)] += rank
    for r in rows:
        r.mean_rank = totals[id(r)] / len(common) if common else math.nan


def render(summary: SpaceSummary) -> list[RenderableType]:
    """The space's heading (reference point included) and its table, for a rich console."""
    ref = ", ".join(f"{n}={v:.4g}" for n, v in zip(summary.objectives, summary.reference,
                                                     strict=True))
    seeds = max(len(s.seeds) for s in summary.strategies)
    head = Text.assemble(
        (f"\n{summary.space}", "bold"),
        f": hypervolume of each run's feasible front, mean ± sd over {seeds} seed(s); "
        f"reference point ({ref}) = nadir of every feasible value observed in these runs "
        f"+ 10% of their range.")
    table = Table()
    table.add_column("strategy")
    for f, n in zip(CHECKPOINTS, summary.checkpoints(), strict=True):
        table.add_column(f"HV @ {n} ({f:.0%})", justify="right")
    table.add_column("mean rank", justify="right")
    table.add_column("evals to best rival", justify="right")
    table.add_column(f"U test vs {summary.best}", justify="right")
    for row in sorted(summary.strategies, key=lambda r: -r.at[1.0][0]):
        cells = [row.strategy, *(f"{m:.4g} ± {s:.2g}" for m, s in
                                 (row.at[f] for f in CHECKPOINTS))]
        cells.append(f"{row.mean_rank:.2f}")
        cells.append("—" if row.evals_to_match is None else str(row.evals_to_match))
        cells.append("(best)" if row.test is None else
                     f"p = {row.test.p:.3g} ({row.test.method})")
        table.add_row(*cells)
    out: list[RenderableType] = [head, table]
    if summary.short_runs:
        out.append(Text(f"note: {len(summary.short_runs)} run(s) have fewer than "
                        f"{summary.budget} evaluations (unfinished, or the space ran out); "
                        f"their curves stay flat at their last value: "
                        f"{', '.join(summary.short_runs[:3])}"
                        f"{' ...' if len(summary.short_runs) > 3 else ''}"))
    return out
