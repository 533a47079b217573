"""The gp surrogate: the contract, its gradient, ARD against a shared lengthscale, and speed."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from nasplat.plugins.surrogates import gp
from surrogate_contract import SurrogateContract


class TestGaussianProcess(SurrogateContract):
    name = "gp"


def test_likelihood_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(0)
    X, z = rng.random((40, 3)), rng.standard_normal(40)
    D = gp._squared_distances(X, np.arange(3))
    theta = np.array([0.3, -0.2, 0.5, 0.2, np.log(0.05)])
    value = lambda t: gp._negative_log_posterior(t, D, z)[0]  # noqa: E731
    np.testing.assert_allclose(gp._negative_log_posterior(theta, D, z)[1],
                               approx_fprime(theta, value, 1e-6), rtol=1e-4, atol=1e-3)


def test_interpolates_a_noiseless_function() -> None:
    X = np.linspace(0, 1, 12)[:, None]
    model = gp.GaussianProcess()
    model.fit(X, np.sin(6 * X))
    mean, std = model.predict(X)
    np.testing.assert_allclose(mean, np.sin(6 * X), atol=0.02)
    assert np.all(std < 0.05)


def test_ard_ignores_a_feature_that_does_not_matter() -> None:
    rng = np.random.default_rng(1)
    X = rng.random((60, 2))
    model = gp.GaussianProcess()
    model.fit(X, np.sin(6 * X[:, :1]))
    sweep = np.column_stack([np.full(20, 0.4), np.linspace(0, 1, 20)])  # the noise feature only
    mean, _ = model.predict(sweep)
    assert np.ptp(mean) < 0.05


def test_many_features_share_one_lengthscale() -> None:
    rng = np.random.default_rng(2)
    X = (rng.random((50, 64)) < 0.5).astype(float)
    model = gp.GaussianProcess(ard_max_features=32)
    model.fit(X, X[:, :16].sum(axis=1, keepdims=True))
    assert len(model._models[0].weights) == 64
    assert len(set(np.round(model._models[0].weights, 12))) == 1


def test_constant_features_and_constant_targets() -> None:
    X = np.column_stack([np.arange(6.0), np.ones(6)])
    model = gp.GaussianProcess()
    model.fit(X, np.full((6, 1), 2.0))
    mean, std = model.predict(np.array([[2.5, 1.0], [2.5, 7.0]]))
    np.testing.assert_allclose(mean, 2.0, atol=1e-6)
    assert np.all(np.isfinite(std))


@pytest.mark.parametrize("features", [10, 512])
def test_fit_and_predict_at_500_observations_in_well_under_a_second(features: int) -> None:
    rng = np.random.default_rng(3)
    X = rng.integers(0, 17, (500, features)).astype(float)
    Y = np.column_stack([X[:, 0], X[:, 1:].mean(axis=1)])
    model = gp.GaussianProcess()
    start = time.perf_counter()
    model.fit(X, Y)
    model.predict(rng.integers(0, 17, (500, features)).astype(float))
    assert time.perf_counter() - start < 3.0  # about 0.3 s on an idle core; busy CI slack
