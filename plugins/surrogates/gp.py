"""Gaussian-process surrogate on numpy and scipy: one exact GP per objective, Matern 5/2 kernel.

Encodings are scaled to [0, 1] by the observed range of each feature and objectives
standardised. Each objective gets its own kernel hyperparameters, fitted by maximising the log
marginal likelihood plus weak priors (L-BFGS-B with analytic gradients, from one fixed start):
one inverse squared lengthscale per feature (ARD) up to ``ard_max_features`` features, one
shared lengthscale beyond (a 512-bit mask has too many for a few hundred rows), a signal
variance and a noise variance. The priors are those of Optuna's ``GPSampler``
(``optuna/_gp/prior.py``), so on integer benchmarks the two model alike. Hyperparameters are
fitted on at most ``max_fit_rows`` rows (a seeded subset), the posterior conditions on all:
the fit stays a fraction of a second at 500 observations. Unlike a tree ensemble, a GP's
uncertainty grows smoothly with distance from the data, and its mean interpolates between
and slightly beyond observed values, which is what expected hypervolume improvement needs.

Rasmussen & Williams, "Gaussian Processes for Machine Learning", 2006: eq. (2.25)-(2.26) for
the posterior, (5.8)-(5.9) for the marginal likelihood and its gradient, (4.17) for Matern 5/2.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.linalg.lapack import dpotri
from scipy.optimize import minimize

from nasplat import hookimpl
from nasplat.plugins.surrogates._threads import one_blas_thread
from nasplat.surrogate import training_arrays

SQRT5 = np.sqrt(5.0)
MIN_NOISE = 1e-6
"""Noise variance floor (standardised units): keeps the kernel matrix well conditioned."""


class GPOptions(BaseModel):
    """Options of the GP surrogate; defaults keep a fit well under a second at n = 500."""

    model_config = ConfigDict(extra="forbid")
    ard_max_features: int = Field(default=32, ge=1)
    """Up to this many features (that vary), one lengthscale each; more: one shared."""
    max_fit_rows: int = Field(default=120, ge=2)
    """Rows the hyperparameters are fitted on (a seeded subset beyond this)."""
    max_iterations: int = Field(default=60, ge=1)
    """L-BFGS-B iterations per objective."""


class GaussianProcess:
    """Exact Gaussian processes, one per objective, Matern 5/2 with ARD lengthscales."""

    name: ClassVar[str] = "gp"
    Options: ClassVar[type[BaseModel]] = GPOptions

    def __init__(self, seed: int = 0, **options: Any) -> None:
        self.seed = seed
        self.options = GPOptions(**options)
        self._X = np.zeros((0, 0))
        self._low = np.zeros(0)
        self._span = np.ones(0)
        self._location = np.zeros(0)
        self._scale = np.ones(0)
        self._models: list[_Posterior] = []

    def fit(self, X: np.ndarray, Y: np.ndarray) -> None:
        """Fit to encodings ``X`` (n, d) and objective values ``Y`` (n, m), minimisation form."""
        with one_blas_thread():
            self._fit(X, Y)

    def _fit(self, X: np.ndarray, Y: np.ndarray) -> None:
        X, Y = training_arrays(self.name, X, Y)
        self._low = X.min(axis=0)
        span = X.max(axis=0) - self._low
        self._span = np.where(span > 0, span, 1.0)
        self._X = (X - self._low) / self._span
        self._location = Y.mean(axis=0)
        spread = Y.std(axis=0)
        self._scale = np.where(spread > 0, spread, 1.0)
        Z = (Y - self._location) / self._scale
        varying = span > 0
        if int(varying.sum()) <= self.options.ard_max_features:
            groups = np.where(varying, np.cumsum(varying) - 1, -1)
        else:
            groups = np.where(varying, 0, -1)
        rows = np.arange(len(X))
        if len(X) > self.options.max_fit_rows:
            rng = np.random.default_rng(self.seed)
            rows = np.sort(rng.choice(len(X), self.options.max_fit_rows, replace=False))
        D = _squared_distances(self._X[rows], groups)
        self._models = []
        for z in Z.T:
            theta = _fit_hyperparameters(D, z[rows], self.options.max_iterations)
            self._models.append(_Posterior(self._X, z, groups, theta))

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and standard deviation (of the latent function), each (k, m)."""
        if not self._models:
            raise RuntimeError(f"surrogate '{self.name}': call fit() before predict()")
        Xs = (np.asarray(X, dtype=float) - self._low) / self._span
        with one_blas_thread():
            means, stds = zip(*(model.predict(Xs) for model in self._models), strict=True)
        mean = np.column_stack(means) * self._scale + self._location
        return mean, np.column_stack(stds) * self._scale


# --- the kernel and its hyperparameters ----------------------------------------------------------


def _squared_distances(X: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Squared distances between the rows of ``X`` per lengthscale group: (g, n, n)."""
    count = int(groups.max()) + 1 if groups.size else 0
    out = np.zeros((max(count, 1), len(X), len(X)))
    for g in range(count):
        out[g] = _pairwise(X[:, groups == g], X[:, groups == g])
    return out


def _pairwise(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of ``A`` and of ``B``."""
    return np.maximum((A**2).sum(1)[:, None] + (B**2).sum(1)[None, :] - 2 * A @ B.T, 0.0)


def _matern(r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Matern 5/2 of squared scaled distance ``r2`` (R&W eq. 4.17) and its derivative by r2."""
    r = np.sqrt(r2)
    decay = np.exp(-SQRT5 * r)
    return (1 + SQRT5 * r + 5.0 / 3.0 * r2) * decay, -5.0 / 6.0 * (1 + SQRT5 * r) * decay


def _unpack(theta: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Inverse squared lengthscales, signal variance, noise variance from log parameters."""
    return np.exp(theta[:-2]), float(np.exp(theta[-2])), float(np.exp(theta[-1])) + MIN_NOISE


def _negative_log_posterior(theta: np.ndarray, D: np.ndarray, z: np.ndarray
                            ) -> tuple[float, np.ndarray]:
    """Minus (log marginal likelihood + log prior) and its gradient in log parameters."""
    eta, signal, noise = _unpack(theta)
    n = len(z)
    r2 = np.tensordot(eta, D, axes=1)
    shape, slope = _matern(r2)
    K = signal * shape + noise * np.eye(n)
    try:
        L = cholesky(K, lower=True)
    except np.linalg.LinAlgError:
        return 1e10, np.zeros_like(theta)
    alpha = cho_solve((L, True), z)
    likelihood = -0.5 * z @ alpha - np.log(np.diag(L)).sum() - 0.5 * n * np.log(2 * np.pi)
    inverse, _ = dpotri(L, lower=1)  # the lower triangle of K^-1, from L
    inverse = np.tril(inverse) + np.tril(inverse, -1).T
    W = np.outer(alpha, alpha) - inverse  # R&W eq. (5.9)
    G = W * (signal * slope)
    grad = np.empty_like(theta)
    grad[:-2] = 0.5 * eta * np.tensordot(D, G, axes=([1, 2], [0, 1]))
    grad[-2] = 0.5 * signal * np.sum(W * shape)
    grad[-1] = 0.5 * (noise - MIN_NOISE) * np.trace(W)
    # Optuna's GPSampler priors: on eta, -(0.1 / eta + 0.1 eta); Gamma(2, 1) on the signal
    # variance; Gamma(1.1, 30) on the noise variance (each in its own units, log-space chain)
    n_noise = noise - MIN_NOISE
    prior = (-(0.1 / eta + 0.1 * eta).sum() + (np.log(signal) - signal)
             + (0.1 * np.log(n_noise) - 30 * n_noise))
    prior_grad = np.concatenate([0.1 / eta - 0.1 * eta, [1 - signal, 0.1 - 30 * n_noise]])
    return -(likelihood + prior), -(grad + prior_grad)


def _fit_hyperparameters(D: np.ndarray, z: np.ndarray, iterations: int) -> np.ndarray:
    """MAP log parameters given squared distances ``D`` (g, n, n), from a fixed start (every
    eta 1, signal 1, noise 0.01)."""
    start = np.concatenate([np.zeros(len(D)), [0.0, np.log(0.01)]])
    bounds = [(-9.0, 7.0)] * len(D) + [(-7.0, 4.0), (-16.0, 0.0)]
    result = minimize(_negative_log_posterior, start, args=(D, z), jac=True, method="L-BFGS-B",
                      bounds=bounds, options={"maxiter": iterations})
    return result.x if np.isfinite(result.fun) else start


class _Posterior:
    """The GP of one standardised objective conditioned on every observation."""

    def __init__(self, X: np.ndarray, z: np.ndarray, groups: np.ndarray,
                 theta: np.ndarray) -> None:
        eta, self.signal, noise = _unpack(theta)
        # sqrt(eta) per feature: r2 is then a plain squared distance (constant features: 0)
        self.weights = np.where(groups >= 0, np.sqrt(eta[np.maximum(groups, 0)]), 0.0)
        self.X = X * self.weights
        K = self.signal * _matern(_pairwise(self.X, self.X))[0]
        for jitter in (noise, noise + 1e-6, noise + 1e-4, noise + 1e-2):
            try:
                self.L = cholesky(K + jitter * np.eye(len(X)), lower=True)
                break
            except np.linalg.LinAlgError:
                continue
        self.alpha = cho_solve((self.L, True), z)

    def predict(self, Xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and std at ``Xs`` (R&W eq. 2.25-2.26)."""
        Ks = self.signal * _matern(_pairwise(Xs * self.weights, self.X))[0]
        v = solve_triangular(self.L, Ks.T, lower=True)
        variance = np.maximum(self.signal - (v**2).sum(axis=0), 1e-12)
        return Ks @ self.alpha, np.sqrt(variance)


@hookimpl
def nasplat_register_surrogates(register: Any) -> None:
    """Register the Gaussian-process surrogate."""
    register(GaussianProcess)
