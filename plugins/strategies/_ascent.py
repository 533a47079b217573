"""Coordinate ascent of an acquisition over integer genomes.

The discrete local search of Optuna's GP sampler, vectorised over its starting points: visit the
genes one at a time, in order, try every value of the visited gene at once, move to the best one
if it scores higher than where the climb stands, and stop a climb after a sweep without a move. A whole ask then costs ``sweeps x genes`` calls of the acquisition,
each over ``starts x values`` genomes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Score = Callable[[list[list[int]]], np.ndarray]
"""Scores genomes; ``-inf`` for those that may not be proposed (already evaluated, say)."""


def coordinate_ascent(starts: Sequence[Sequence[int]], bounds: Sequence[tuple[int, int]],
                      score: Score, rng: np.random.Generator, *, sweeps: int = 4,
                      genes: int = 64, values: int = 64, radius: int | None = None,
                      repair: Callable[[list[int]], list[int]] | None = None) -> None:
    """Climb ``score`` from each of ``starts`` (integer genomes within ``bounds``).

    Every genome tried goes through ``score``, which is how the caller collects them: the
    climb itself keeps nothing. A sweep visits at most ``genes`` genes (a random subset where
    there are more) and tries at most ``values`` values of each (likewise); a climb changes at
    most ``radius`` genes of its start (None: any); ``repair`` makes a changed genome valid
    before it is scored. Genomes are lists of ints throughout.
    """
    current = [list(map(int, s)) for s in starts]
    if not current:
        return
    origin = [np.asarray(c) for c in current]
    best = np.asarray(score(current), dtype=float)
    climbing = np.ones(len(current), dtype=bool)
    n_genes = len(bounds)
    for _ in range(sweeps):
        moved = np.zeros(len(current), dtype=bool)
        order = (np.arange(n_genes) if n_genes <= genes
                 else np.sort(rng.choice(n_genes, genes, replace=False)))
        for j in order:
            lo, hi = bounds[j]
            levels = np.arange(lo, hi + 1)
            if len(levels) > values:
                levels = np.sort(rng.choice(levels, size=values, replace=False))
            tried: list[list[int]] = []
            owner: list[int] = []
            for s in np.flatnonzero(climbing):
                if (radius is not None and current[s][j] == origin[s][j]
                        and int(np.sum(np.asarray(current[s]) != origin[s])) >= radius):
                    continue
                for v in levels:
                    if v == current[s][j]:
                        continue
                    genome = current[s].copy()
                    genome[j] = int(v)
                    tried.append([int(x) for x in repair(genome)] if repair else genome)
                    owner.append(int(s))
            if not tried:
                continue
            scores = np.asarray(score(tried), dtype=float)
            owners = np.asarray(owner)
            for s in np.unique(owners):
                rows = np.flatnonzero(owners == s)
                top = rows[int(np.argmax(scores[rows]))]
                if scores[top] > best[s]:
                    current[s], best[s], moved[s] = tried[top], scores[top], True
        climbing &= moved
        if not climbing.any():
            break
