"""Checks every bundled surrogate must pass, and the tree surrogates more; each test module
subclasses one contract with its surrogate's registered name."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest
from scipy.stats import spearmanr

from nasplat import registry
from nasplat.errors import PluginError
from nasplat.surrogate import Surrogate


def known_function(X: np.ndarray) -> np.ndarray:
    """Two objectives of four inputs: a bowl and a wave."""
    return np.column_stack([((X - 0.3) ** 2).sum(axis=1), np.sin(3 * X[:, 0]) + X[:, 1]])


class SurrogateContract:
    """Subclass and set ``name`` (the registered name)."""

    name: str

    @pytest.fixture(scope="class")
    @classmethod
    def data(cls) -> dict[str, np.ndarray]:
        """Training inputs in [0, 1)^4, held-out ones beside them, and far ones in [2, 3)^4."""
        rng = np.random.default_rng(0)
        return {"X": rng.random((150, 4)), "held_out": rng.random((80, 4)),
                "far": rng.random((80, 4)) + 2.0}

    def make(self, **options: Any) -> Surrogate:
        return registry.get().lookup("surrogates", self.name).cls(**options)

    def test_registered_and_implements_the_interface(self) -> None:
        assert isinstance(self.make(seed=0), Surrogate)

    def test_fits_a_known_function(self, data: dict) -> None:
        self.check_fits_a_known_function(data)

    def check_fits_a_known_function(self, data: dict, **options: Any) -> None:
        """Rank-correlates with a known function on held-out inputs, with these options."""
        model = self.make(seed=1, **options)
        model.fit(data["X"], known_function(data["X"]))
        mean, std = model.predict(data["held_out"])
        assert mean.shape == std.shape == (80, 2) and np.all(std >= 0)
        truth = known_function(data["held_out"])
        for j in range(2):
            assert spearmanr(mean[:, j], truth[:, j])[0] > 0.9

    def test_less_certain_far_from_the_data(self, data: dict) -> None:
        model = self.make(seed=1)
        model.fit(data["X"], known_function(data["X"]))
        _, near = model.predict(data["held_out"])
        _, far = model.predict(data["far"])
        assert np.all(far.mean(axis=0) > 3 * near.mean(axis=0))

    def test_less_certain_outside_a_cluster_than_inside(self, data: dict) -> None:
        X = data["X"] / 2  # the data fill [0, 0.5)^4; the other points lie in [0.5, 1)^4
        model = self.make(seed=1)
        model.fit(X, known_function(X))
        _, inside = model.predict(data["held_out"] / 2)
        _, outside = model.predict(data["held_out"] / 2 + 0.5)
        assert np.all(outside.mean(axis=0) > 2 * inside.mean(axis=0))

    def test_a_fit_is_a_function_of_seed_and_data(self, data: dict) -> None:
        Y = known_function(data["X"])
        a, b = self.make(seed=3), self.make(seed=3)
        for model in (a, b):
            model.fit(data["X"], Y)
        assert np.array_equal(a.predict(data["far"])[1], b.predict(data["far"])[1])
        assert np.array_equal(a.predict(data["far"])[0], b.predict(data["far"])[0])

    def test_one_column_and_ten_rows(self) -> None:
        X = np.arange(10.0)[:, None]
        model = self.make(seed=0)
        model.fit(X, X**2)
        mean, std = model.predict(X)
        assert mean.shape == std.shape == (10, 1)
        assert mean[0, 0] < mean[-1, 0]



class TreeContract(SurrogateContract):
    """The tree surrogates: a library to import, quantile models, seeded bootstrap members.
    Set ``module`` (the library) and ``pip`` (what to install) too."""

    module: str
    pip: str

    def test_quantile_models_fit_a_known_function(self, data: dict) -> None:
        self.check_fits_a_known_function(data, uncertainty="quantile")

    def test_the_seed_draws_the_bootstrap(self, data: dict) -> None:
        Y = known_function(data["X"])
        a, c = self.make(seed=3), self.make(seed=4)
        for model in (a, c):
            model.fit(data["X"], Y)
        assert not np.array_equal(a.predict(data["far"])[1], c.predict(data["far"])[1])

    def test_missing_library_says_what_to_install(self, monkeypatch: pytest.MonkeyPatch
                                                  ) -> None:
        monkeypatch.setitem(sys.modules, self.module, None)  # makes `import` raise ImportError
        with pytest.raises(PluginError, match=f"surrogate '{self.name}' needs the "
                                              f"{self.module} package: pip install {self.pip}"):
            self.make(seed=0)
