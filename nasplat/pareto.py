"""Pareto fronts and hypervolume, through pymoo."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymoo.indicators.hv import HV
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from nasplat.objective import Direction


def minimisation_matrix(values: Sequence[Sequence[float]], directions: Sequence[Direction]
                        ) -> np.ndarray:
    """An (n, m) array of ``values`` with maximised objectives negated."""
    F = np.asarray(values, dtype=float).reshape(len(values), len(directions))
    signs = np.array([1.0 if d == "min" else -1.0 for d in directions])
    return F * signs


def pareto_indices(values: Sequence[Sequence[float]], directions: Sequence[Direction]
                   ) -> list[int]:
    """Indices of the non-dominated rows of ``values`` (pymoo's non-dominated sorting)."""
    if len(values) == 0:
        return []
    F = minimisation_matrix(values, directions)
    front = NonDominatedSorting().do(F, only_non_dominated_front=True)
    return sorted(int(i) for i in front)


def hypervolume(values: Sequence[Sequence[float]], directions: Sequence[Direction],
                reference: Sequence[float]) -> float:
    """Hypervolume dominated by ``values`` up to ``reference`` (given in the objectives' own
    directions, e.g. the worst accuracy and the largest size you care about)."""
    if len(values) == 0:
        return 0.0
    F = minimisation_matrix(values, directions)
    ref = minimisation_matrix([reference], directions)[0]
    return float(HV(ref_point=ref)(F))
