"""What the tree surrogates share: uncertainty from a bootstrap ensemble or quantile models.

A boosted tree predicts a value, not a distribution. Two ways to get a standard deviation:

* ``bootstrap`` (default): fit ``models`` regressors, each on a resample of the rows drawn
  with replacement; the spread of their predictions is the std (Lakshminarayanan et al. 2017
  use the same idea for deep ensembles; MoENAS uses an XGBoost ensemble as its surrogate).
  Trees extrapolate flat, so bare bootstrap members agree as much far from the data as near
  it; each member therefore adds a fixed random linear *prior* to what its trees fit
  (randomised prior functions, Osband et al. 2018): the trees cancel the prior where there is
  data, and elsewhere the members' priors pull them apart, so the std grows with distance.
* ``quantile``: fit the 15.9 %, 50 % and 84.1 % quantiles; the median is the mean and half
  the distance between the outer two is the std (one sigma of a normal either side). This
  is the spread of the values (noise and misfit), not distance from the data.

Objective columns are standardised before fitting (tree regularisation is scale dependent) and
predictions turned back. ``fit`` is a deterministic function of ``seed``, ``X`` and ``Y``: it
draws its resamples from a generator seeded afresh on every call, so a strategy that refits
after a restart gets the same model.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from types import ModuleType
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from nasplat.errors import PluginError
from nasplat.surrogate import training_arrays

Uncertainty = Literal["bootstrap", "quantile"]
QUANTILES = (0.15865525393145707, 0.5, 0.8413447460685429)  # Phi(-1), Phi(0), Phi(1)


class TreeOptions(BaseModel):
    """Options shared by the tree surrogates; defaults favour fast fits on a few hundred rows."""

    model_config = ConfigDict(extra="forbid")
    uncertainty: Uncertainty = "bootstrap"
    models: int = Field(default=6, ge=2, le=64)
    """Bootstrap ensemble size (ignored for ``quantile``)."""
    n_estimators: int = Field(default=40, ge=1)
    learning_rate: float = Field(default=0.15, gt=0)
    max_depth: int = Field(default=4, ge=1)
    subsample_features: float = Field(default=0.8, gt=0, le=1)
    """Share of the features each tree sees: decorrelates the ensemble members."""
    prior_scale: float = Field(default=0.5, ge=0)
    """Scale of each bootstrap member's random linear prior, in standard deviations of the
    objective per standard deviation of the encoding (0: plain bootstrap)."""
    threads: int = Field(default=1, ge=1)
    """1 by default: on a few hundred rows threads buy little, and on a busy 2-core machine
    OpenMP's spinning threads made a 2-thread fit 10-20x slower than a 1-thread one."""


def require(module: str, surrogate: str, pip_name: str) -> ModuleType:
    """Import ``module`` or raise a :class:`PluginError` with the ``pip install`` line."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise PluginError(f"surrogate '{surrogate}' needs the {module} package: "
                          f"pip install {pip_name}") from None


class TreeEnsemble(ABC):
    """A surrogate made of boosted-tree regressors; subclasses fit and predict one of them."""

    name: ClassVar[str]
    Options: ClassVar[type[BaseModel]] = TreeOptions

    def __init__(self, seed: int = 0, **options: Any) -> None:
        self.seed = seed
        self.options = TreeOptions(**options)
        self._members: list[Any] = []
        self._priors: list[np.ndarray] = []  # (d, m) weights, one per bootstrap member
        self._x_location = np.zeros(0)
        self._x_scale = np.ones(0)
        self._location = np.zeros(0)
        self._scale = np.ones(0)

    # --- what a library plugs in ----------------------------------------------------------------

    @abstractmethod
    def _fit_one(self, X: np.ndarray, Y: np.ndarray, seed: int, quantile: float | None) -> Any:
        """One model of every column of ``Y`` (squared error, or pinball loss at ``quantile``)."""

    @abstractmethod
    def _predict_one(self, model: Any, X: np.ndarray) -> np.ndarray:
        """Predictions of one model, shape (k, m)."""

    # --- the Surrogate interface ------------------------------------------------------------------

    def fit(self, X: np.ndarray, Y: np.ndarray) -> None:
        """Fit to encodings ``X`` (n, d) and objective values ``Y`` (n, m), minimisation form."""
        X, Y = training_arrays(self.name, X, Y)
        self._location = Y.mean(axis=0)
        spread = Y.std(axis=0)
        self._scale = np.where(spread > 0, spread, 1.0)
        Z = (Y - self._location) / self._scale
        rng = np.random.default_rng(self.seed)
        seeds = rng.integers(2**31 - 1, size=self.options.models)
        self._priors = []
        if self.options.uncertainty == "quantile":
            self._members = [self._fit_one(X, Z, int(seeds[0]), q) for q in QUANTILES]
            return
        self._x_location = X.mean(axis=0)
        spread = X.std(axis=0)
        self._x_scale = np.where(spread > 0, spread, 1.0)
        varying = max(int(np.count_nonzero(spread)), 1)
        self._members = []
        for seed in seeds:
            rows = rng.integers(len(X), size=len(X))
            prior = (rng.standard_normal((X.shape[1], Z.shape[1])) * (spread > 0)[:, None]
                     * self.options.prior_scale / np.sqrt(varying))
            self._priors.append(prior)
            target = Z[rows] - self._prior(X[rows], prior)
            self._members.append(self._fit_one(X[rows], target, int(seed), None))

    def _prior(self, X: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """A member's random linear prior at ``X``, on standardised encodings."""
        return ((X - self._x_location) / self._x_scale) @ weights

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and standard deviation, each (k, m), in the units of ``Y``."""
        if not self._members:
            raise RuntimeError(f"surrogate '{self.name}': call fit() before predict()")
        X = np.asarray(X, dtype=float)
        m = len(self._location)
        P = np.stack([self._predict_one(model, X).reshape(len(X), m) for model in self._members])
        if self.options.uncertainty == "quantile":
            low, mean, high = P
            std = np.maximum(high - low, 0.0) / 2
        else:
            P = P + np.stack([self._prior(X, prior) for prior in self._priors])
            mean, std = P.mean(axis=0), P.std(axis=0, ddof=1)
        return mean * self._scale + self._location, std * self._scale
