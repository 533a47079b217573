"""Pareto fronts and hypervolume against hand-computed cases."""

from __future__ import annotations

import pytest

from nasplat.pareto import hypervolume, pareto_indices


def test_front_with_mixed_directions() -> None:
    # (accuracy max, params min)
    points = [(0.9, 100), (0.8, 50), (0.85, 120), (0.7, 40), (0.9, 100), (0.6, 60)]
    assert pareto_indices(points, ["max", "min"]) == [0, 1, 3, 4]


def test_hypervolume_by_hand() -> None:
    points = [(1, 3), (2, 2), (3, 1)]  # both minimised, reference (4, 4)
    assert hypervolume(points, ["min", "min"], [4, 4]) == pytest.approx(6.0)
    acc = [(0.9, 1.0), (0.5, 0.5)]  # accuracy max, size min; reference (0, 2)
    assert hypervolume(acc, ["max", "min"], [0.0, 2.0]) == pytest.approx(0.9 * 1.0 + 0.5 * 0.5)


def test_empty() -> None:
    assert pareto_indices([], ["min"]) == []
    assert hypervolume([], ["min", "min"], [1, 1]) == 0.0
