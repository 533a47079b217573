"""The Surrogate interface: predicts objective values of unseen genomes from their encodings."""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Surrogate(Protocol):
    """Learns ``encode(genome) -> objective values`` and predicts with uncertainty.

    ``X`` is (n, d) encodings, ``Y`` is (n, m) objective values in minimisation form.
    ``predict`` returns ``(mean, std)``, each (k, m).
    """

    name: ClassVar[str]

    def fit(self, X: np.ndarray, Y: np.ndarray) -> None:
        """Fit to observed encodings and values."""
        ...

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and standard deviation per objective."""
        ...


def training_arrays(name: str, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``X`` (n, d) and ``Y`` (n, m) as float arrays for surrogate ``name``'s ``fit``; no
    observation at all is a ``ValueError``."""
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float).reshape(len(X), -1)
    if len(X) == 0:
        raise ValueError(f"surrogate '{name}' cannot fit zero observations")
    return X, Y
