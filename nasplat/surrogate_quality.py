"""How well a surrogate predicts: k-fold cross-validated Kendall tau, Spearman rho and RMSE.

A model-based strategy ranks candidates by its surrogate's predictions, so the ranking quality
matters more than the error: NASLib (White et al., "How powerful are performance predictors in
neural architecture search?", NeurIPS 2021) reports Kendall tau and Spearman rho for that
reason. :func:`cross_validate` computes both, and RMSE, for any
:class:`~nasplat.surrogate.Surrogate`; a strategy hands the resulting
:class:`SurrogateReport` objects to the engine through an optional ``surrogate_reports()``
method (see :class:`nasplat.strategy.Strategy`), and the engine stores them
(``nasplat surrogate STUDY`` shows them).

The metrics are computed on the *pooled* out-of-fold predictions: every observation is
predicted once, by the model fitted on the other folds, and tau, rho and RMSE compare those
n predictions with the n observed values. Averaging per-fold metrics instead would rank
within folds of a handful of rows, and a fold whose values are all equal has no rank
correlation at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from nasplat.surrogate import Surrogate

DEFAULT_FOLDS = 5


@dataclass(frozen=True)
class SurrogateReport:
    """Cross-validated quality of a surrogate on one objective, from ``observations`` rows.

    ``kendall_tau`` (tau-b, ties counted) and ``spearman_rho`` are ``None`` where they are
    undefined: the objective's observed values, or the out-of-fold predictions, are all
    equal. ``rmse`` is in the objective's own units. ``folds`` is the number of folds used
    (fewer than asked for when there were fewer observations than folds).
    """

    objective: str
    observations: int
    folds: int
    kendall_tau: float | None
    spearman_rho: float | None
    rmse: float
    surrogate: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (for a strategy's saved state)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SurrogateReport:
        """The report :meth:`to_json` made."""
        return cls(**data)


def fold_of(n: int, folds: int, seed: int) -> np.ndarray:
    """The fold (0 .. k-1) of each of ``n`` rows, k = min(``folds``, n): a seeded shuffle dealt
    round-robin, so fold sizes differ by at most one; with k = n, leave-one-out."""
    if n < 2:
        raise ValueError(f"cross-validation needs at least 2 observations, got {n}")
    if folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {folds}")
    k = min(folds, n)
    assignment = np.empty(n, dtype=int)
    assignment[np.random.default_rng(seed).permutation(n)] = np.arange(n) % k
    return assignment


def cross_validate(make_surrogate: Callable[[], Surrogate], X: np.ndarray, Y: np.ndarray,
                   objectives: Sequence[str], folds: int = DEFAULT_FOLDS, seed: int = 0
                   ) -> list[SurrogateReport]:
    """One :class:`SurrogateReport` per objective (column of ``Y``), by k-fold CV.

    ``make_surrogate()`` returns a fresh, unfitted surrogate (called once per fold); ``X`` is
    (n, d) encodings and ``Y`` (n, m) objective values. With fewer than ``folds``
    observations, every observation is its own fold (leave-one-out); fewer than 2 is an error.
    The result is a deterministic function of ``seed`` and the data when the surrogate's fit
    is.
    """
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float).reshape(len(X), -1)
    if Y.shape[1] != len(objectives):
        raise ValueError(f"Y has {Y.shape[1]} columns but {len(objectives)} objective names "
                         f"were given ({', '.join(objectives)})")
    assignment = fold_of(len(X), folds, seed)
    k = int(assignment.max()) + 1
    predicted = np.empty_like(Y)
    name = "surrogate"
    for fold in range(k):
        held_out = assignment == fold
        surrogate = make_surrogate()
        name = str(getattr(surrogate, "name", name))
        surrogate.fit(X[~held_out], Y[~held_out])
        mean, _ = surrogate.predict(X[held_out])
        predicted[held_out] = np.asarray(mean, dtype=float).reshape(int(held_out.sum()), -1)
    reports = []
    for j, objective in enumerate(objectives):
        tau, rho = rank_correlations(Y[:, j], predicted[:, j])
        rmse = math.sqrt(float(np.mean((predicted[:, j] - Y[:, j]) ** 2)))
        reports.append(SurrogateReport(objective, len(X), k, tau, rho, rmse, name))
    return reports


def rank_correlations(observed: np.ndarray, predicted: np.ndarray
                      ) -> tuple[float | None, float | None]:
    """Kendall tau-b and Spearman rho of ``predicted`` against ``observed``; ``(None, None)``
    when either is constant (no ranking to compare)."""
    if np.ptp(observed) == 0 or np.ptp(predicted) == 0:
        return None, None
    from scipy.stats import kendalltau, spearmanr  # imported on first use: scipy.stats is slow

    return float(kendalltau(observed, predicted).statistic), \
        float(spearmanr(observed, predicted).statistic)


def drain_reports(strategy: object) -> list[SurrogateReport]:
    """The reports a strategy made since the last call (its optional ``surrogate_reports()``);
    empty for a strategy without one."""
    method = getattr(strategy, "surrogate_reports", None)
    return list(method()) if callable(method) else []
