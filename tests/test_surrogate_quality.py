"""Cross-validated surrogate quality: hand-checked tau, rho and RMSE; folds; undefined cases."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import pytest

from nasplat.surrogate_quality import (SurrogateReport, cross_validate, drain_reports, fold_of,
                                       rank_correlations)


class NearestNeighbour:
    """Predicts the value of the nearest training encoding (the first of equally near ones)."""

    name: ClassVar[str] = "nearest"

    def fit(self, X: np.ndarray, Y: np.ndarray) -> None:
        self.X, self.Y = X, Y

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        nearest = np.abs(X[:, None, :] - self.X[None, :, :]).sum(axis=2).argmin(axis=1)
        return self.Y[nearest], np.zeros((len(X), self.Y.shape[1]))


class TrainingMean:
    """Predicts the mean of the training values, and remembers every training set."""

    name: ClassVar[str] = "mean"
    fitted: ClassVar[list[np.ndarray]] = []

    def fit(self, X: np.ndarray, Y: np.ndarray) -> None:
        self.mean = Y.mean(axis=0)
        TrainingMean.fitted.append(X[:, 0].copy())

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.tile(self.mean, (len(X), 1)), np.zeros((len(X), len(self.mean)))


def test_hand_checked_leave_one_out() -> None:
    """Four observations, four folds: each is predicted by its nearest other neighbour.

    x = 0, 1, 3, 7 with y = 1, 2, 4, 3 gives predictions 2 (from x = 1), 1 (x = 0 is nearer
    than x = 3), 2 (x = 1) and 4 (x = 3). Of the 6 pairs, (1,2), (1,3), (0,3) are concordant,
    (0,1) and (2,3) discordant, and (0,2) tied in the prediction only, so
    tau-b = (3 - 2) / sqrt((6 - 1) * (6 - 0)) = 1 / sqrt(30). Ranks 2.5, 1, 2.5, 4 against
    1, 2, 4, 3 give rho = 1.5 / sqrt(4.5 * 5) = 1 / sqrt(10). Errors 1, -1, -2, 1 give
    RMSE = sqrt(7 / 4). The second objective is the first negated: the same ranking quality,
    the same error.
    """
    X = np.array([[0.0], [1.0], [3.0], [7.0]])
    y = np.array([1.0, 2.0, 4.0, 3.0])
    reports = cross_validate(NearestNeighbour, X, np.column_stack([y, -y]), ["acc", "loss"],
                             folds=4, seed=123)
    for report, name in zip(reports, ["acc", "loss"], strict=True):
        assert report.objective == name and report.surrogate == "nearest"
        assert report.observations == 4 and report.folds == 4
        assert report.kendall_tau == pytest.approx(1 / math.sqrt(30), abs=1e-12)
        assert report.spearman_rho == pytest.approx(1 / math.sqrt(10), abs=1e-12)
        assert report.rmse == pytest.approx(math.sqrt(7 / 4), abs=1e-12)


def test_leave_one_out_of_the_mean_ranks_exactly_backwards() -> None:
    """Left out of a mean, a larger value lowers its own prediction: tau = rho = -1, and the
    error of y_i is |n y_i - sum(y)| / (n - 1): 8/3, 4/3, 0 and 12/3 here."""
    y = np.array([1.0, 2.0, 3.0, 6.0])
    (report,) = cross_validate(TrainingMean, np.arange(4.0)[:, None], y[:, None], ["f"],
                               folds=10)
    assert report.folds == 4  # fewer observations than folds: leave-one-out
    assert report.kendall_tau == pytest.approx(-1.0)
    assert report.spearman_rho == pytest.approx(-1.0)
    assert report.rmse == pytest.approx(math.sqrt((64 + 16 + 0 + 144) / 9 / 4))


def test_every_observation_is_predicted_once_by_a_model_that_never_saw_it() -> None:
    TrainingMean.fitted.clear()
    n, folds = 23, 5
    X = np.arange(float(n))[:, None]
    cross_validate(TrainingMean, X, X, ["f"], folds=folds, seed=7)
    assert len(TrainingMean.fitted) == folds
    held_out = [set(range(n)) - set(rows.astype(int)) for rows in TrainingMean.fitted]
    assert sorted(len(h) for h in held_out) == [4, 4, 5, 5, 5]  # sizes differ by one at most
    assert set().union(*held_out) == set(range(n)) and sum(map(len, held_out)) == n


def test_folds_are_seeded() -> None:
    assert np.array_equal(fold_of(20, 5, seed=3), fold_of(20, 5, seed=3))
    assert not np.array_equal(fold_of(20, 5, seed=3), fold_of(20, 5, seed=4))
    assert np.bincount(fold_of(20, 5, seed=3)).tolist() == [4, 4, 4, 4, 4]


def test_constant_values_or_predictions_leave_the_ranks_undefined() -> None:
    X = np.arange(6.0)[:, None]
    flat = np.column_stack([np.full(6, 2.5), np.arange(6.0)])
    constant, varying = cross_validate(NearestNeighbour, X, flat, ["flat", "line"], folds=3)
    assert constant.kendall_tau is None and constant.spearman_rho is None
    assert constant.rmse == 0.0
    assert varying.kendall_tau is not None
    # the mean of what a fold did not hold out is constant within the fold, not overall
    (mean,) = cross_validate(TrainingMean, X, np.arange(6.0)[:, None], ["f"], folds=3)
    assert mean.kendall_tau is not None
    assert rank_correlations(np.arange(3.0), np.ones(3)) == (None, None)


def test_too_few_observations_or_folds_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 2 observations, got 1"):
        cross_validate(TrainingMean, np.zeros((1, 1)), np.zeros((1, 1)), ["f"])
    with pytest.raises(ValueError, match="at least 2 folds, got 1"):
        cross_validate(TrainingMean, np.zeros((5, 1)), np.zeros((5, 1)), ["f"], folds=1)
    with pytest.raises(ValueError, match="Y has 2 columns but 1 objective names"):
        cross_validate(TrainingMean, np.zeros((5, 1)), np.zeros((5, 2)), ["f"])


def test_reports_round_trip_and_are_drained_from_strategies_that_make_them() -> None:
    report = SurrogateReport("f", 10, 5, None, 0.5, 1.25, "nearest")
    assert SurrogateReport.from_json(report.to_json()) == report

    class Reporting:
        pending = [report]

        def surrogate_reports(self) -> list[SurrogateReport]:
            out, self.pending = self.pending, []
            return out

    strategy = Reporting()
    assert drain_reports(strategy) == [report] and drain_reports(strategy) == []
    assert drain_reports(object()) == []
