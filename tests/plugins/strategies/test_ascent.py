"""Coordinate ascent of an acquisition over integer genomes."""

from __future__ import annotations

import numpy as np

from nasplat.plugins.strategies._ascent import coordinate_ascent


def recorder(score):
    """A score function that also keeps every genome it was asked about."""
    tried: list[list[int]] = []

    def scored(genomes: list[list[int]]) -> np.ndarray:
        tried.extend(genomes)
        return np.array([score(g) for g in genomes], dtype=float)

    return scored, tried


def test_climbs_a_separable_score_to_its_maximum() -> None:
    target = [3, 0, 7, 5]
    score, tried = recorder(lambda g: -sum((a - b) ** 2 for a, b in zip(g, target)))
    coordinate_ascent([[0, 0, 0, 0], [7, 7, 7, 7]], [(0, 7)] * 4, score,
                      np.random.default_rng(0))
    assert target in tried
    # one sweep reaches it (each gene's best value at once); the second finds no move
    assert len(tried) <= 2 + 2 * 2 * 4 * 7


def test_a_radius_bounds_how_far_a_climb_goes() -> None:
    score, tried = recorder(lambda g: float(sum(g)))  # best: every gene at its top
    coordinate_ascent([[0] * 6], [(0, 3)] * 6, score, np.random.default_rng(0), radius=2)
    changed = [sum(v != 0 for v in g) for g in tried]
    assert max(changed) == 2
    assert [3, 3, 0, 0, 0, 0] in tried  # the best within two genes of the start


def test_genomes_scoring_minus_infinity_are_never_stepped_on() -> None:
    # [0, 0] is best, but reached from [1, 1] only through [1, 0] (forbidden: say, already
    # evaluated) or [0, 1] (worse than the start): the climb stays where it is
    values = {(1, 1): 0.0, (1, 0): -np.inf, (0, 1): -1.0, (0, 0): 5.0}
    score, tried = recorder(lambda g: values[tuple(g)])
    coordinate_ascent([[1, 1]], [(0, 1)] * 2, score, np.random.default_rng(0))
    assert [0, 0] not in tried
    # without the ban the climb steps on [1, 0] and then finds [0, 0]
    values[(1, 0)] = 1.0
    score, tried = recorder(lambda g: values[tuple(g)])
    coordinate_ascent([[1, 1]], [(0, 1)] * 2, score, np.random.default_rng(0))
    assert [0, 0] in tried


def test_repair_and_caps_on_genes_and_values() -> None:
    score, tried = recorder(lambda g: float(g[0]))
    coordinate_ascent([[0] * 100], [(0, 999)] * 100, score, np.random.default_rng(0),
                      sweeps=1, genes=5, values=10, repair=lambda g: [min(v, 500) for v in g])
    assert len(tried) <= 1 + 5 * 10
    assert max(max(g) for g in tried) <= 500


def test_repaired_genomes_of_any_sequence_type_are_climbed_as_lists() -> None:
    # a space's repair may return its own type (dense_prune's masks are tuples)
    score, tried = recorder(lambda g: float(sum(g)))
    coordinate_ascent([[0, 0, 0]], [(0, 1)] * 3, score, np.random.default_rng(0),
                      repair=lambda g: tuple(g))
    assert all(isinstance(g, list) for g in tried)
    assert [1, 1, 1] in tried
