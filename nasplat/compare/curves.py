"""Hypervolume curves: each run's hypervolume after every evaluation, against one reference
point per space."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nasplat.objective import Direction
from nasplat.pareto import hypervolume, minimisation_matrix
from nasplat.store import Store, queries
from nasplat.study import Study

MARGIN = 0.1
"""The reference point lies this fraction of the observed range beyond the nadir, so that
the extreme points of every front add some volume (the usual choice; Ishibuchi et al. 2018)."""

EVALUATED = ("complete", "failed")
"""Trials that spend budget: the x axis of a curve. Infeasible trials give their budget back
(see the engine), so they are not on it."""


@dataclass(frozen=True)
class Run:
    """One study of a comparison: what it searched, and its evaluations in order."""

    study: str
    space: str
    strategy: str
    seed: int
    objectives: tuple[str, ...]
    directions: tuple[Direction, ...]
    points: tuple[tuple[float, ...] | None, ...]
    """One entry per evaluation, in trial order: the objective values in minimisation form
    (maximised objectives negated), or ``None`` for a failed or infeasible trial."""

    @property
    def evaluations(self) -> int:
        """How many evaluations the run has."""
        return len(self.points)


def load_runs(store: Store, prefix: str) -> list[Run]:
    """Every study whose name starts with ``prefix + "/"``, as runs."""
    rows = [row for row, _ in queries.list_studies(store) if row.name.startswith(prefix + "/")]
    return [load_run(Study(store, row)) for row in rows]


def load_run(study: Study) -> Run:
    """A stored study as a run."""
    names = tuple(study.objective_names)
    directions = tuple(d for _, d in study.directions)
    points: list[tuple[float, ...] | None] = []
    for trial in study.trials(EVALUATED):
        if trial.status == "complete" and all(n in trial.values for n in names):
            F = minimisation_matrix([[trial.values[n] for n in names]], directions)[0]
            points.append(tuple(float(v) for v in F))
        else:
            points.append(None)
    row = study.row
    return Run(row.name, row.space, row.strategy, int(json.loads(row.config_json)["seed"]),
               names, directions, tuple(points))


def reference_point(runs: Sequence[Run], budget: int | None = None) -> np.ndarray:
    """The nadir of every feasible point of ``runs`` (their first ``budget`` evaluations) plus
    ``MARGIN`` of the observed range, in minimisation form."""
    points = [p for run in runs for p in run.points[:budget] if p is not None]
    if not points:
        raise ValueError("no feasible evaluation in any run: no reference point")
    F = np.asarray(points, dtype=float)
    nadir, ideal = F.max(axis=0), F.min(axis=0)
    span = nadir - ideal
    span = np.where(span > 0, span, np.maximum(np.abs(nadir), 1.0))  # one value: a unit box
    return nadir + MARGIN * span


def to_directions(point: np.ndarray, directions: Sequence[Direction]) -> list[float]:
    """A point in minimisation form back in the objectives' own directions."""
    return [float(v if d == "min" else -v) for v, d in zip(point, directions, strict=True)]


def hv_curve(run: Run, reference: np.ndarray, budget: int) -> np.ndarray:
    """Hypervolume after each of the first ``budget`` evaluations; a run that stopped early
    keeps its last value. Incremental: the volume is recomputed only when a point enters the
    running front (a dominated point, or one outside the reference box, changes nothing)."""
    curve = np.zeros(budget)
    front = np.empty((0, len(reference)))
    volume = 0.0
    minimise: list[Direction] = ["min"] * len(reference)
    for i, point in enumerate(run.points[:budget]):
        if point is not None:
            p = np.asarray(point, dtype=float)
            inside = bool(np.all(p < reference))
            covered = bool(len(front)) and bool(np.any(np.all(front <= p, axis=1)))
            if inside and not covered:
                front = np.vstack([front[~np.all(p <= front, axis=1)], p])
                volume = hypervolume(front.tolist(), minimise, reference.tolist())
        curve[i] = volume
    if run.evaluations < budget:
        curve[run.evaluations:] = volume
    return curve
