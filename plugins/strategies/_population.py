"""What the evolutionary strategies share: parents, their feasibility-first fitness, no repeats.

``nsga2`` and ``evolution`` both keep evaluated genomes as :class:`Member` s, rank them
feasibility first (Deb 2000: a feasible member beats an infeasible one, the smaller violation
wins between infeasible ones) and then by non-domination rank and crowding distance (Deb et
al. 2002, pymoo's implementations), and avoid proposing genomes already evaluated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from nasplat.objective import ObjectiveSpec, to_minimise
from nasplat.space import Genome, SearchSpace
from nasplat.strategy import TrialResult

FRESH_TRIES = 20
"""Children bred (then as many random samples drawn) in search of an unseen genome before a
repeat is proposed anyway: the engine drops it, and asks again."""

Key = tuple[int, float, int, float]
"""A member's fitness, smaller is better: (infeasible, violation, rank, -crowding)."""


@dataclass(frozen=True)
class Member:
    """An evaluated genome that may become a parent: its values in minimisation form (``None``
    when infeasible: those compare by violation only) and its constraint violation."""

    number: int
    genome: Genome
    F: tuple[float, ...] | None
    violation: float

    @property
    def feasible(self) -> bool:
        """Whether the member satisfied every constraint."""
        return self.F is not None


def member(result: TrialResult, objectives: Sequence[ObjectiveSpec]) -> Member | None:
    """The parent candidate a told result makes; ``None`` for a failed trial (never a parent)."""
    if result.status == "failed" or result.genome is None:
        return None
    if result.status == "infeasible":
        return Member(result.number, result.genome, None, float(result.violation))
    names = [o.name for o in objectives]
    if not all(n in result.values for n in names):
        return None  # a complete trial without all its values cannot be ranked
    F = to_minimise([result.values[n] for n in names], [o.direction for o in objectives])
    return Member(result.number, result.genome, tuple(F), 0.0)


def fitness(members: Sequence[Member]) -> list[Key]:
    """Each member's feasibility-first key: feasible ones by non-domination rank, then by
    crowding distance within their front (NSGA-II's crowded comparison, Deb et al. 2002);
    infeasible ones behind all of them, by violation."""
    keys: list[Key] = [(1, m.violation, 0, 0.0) for m in members]
    feasible = [i for i, m in enumerate(members) if m.feasible]
    if not feasible:
        return keys
    F = np.array([members[i].F for i in feasible], dtype=float)
    for rank, front in enumerate(NonDominatedSorting().do(F)):
        for j, crowding in zip(front, crowding_distance(F[front]), strict=True):
            keys[feasible[j]] = (0, 0.0, rank, -float(crowding))
    return keys


def crowding_distance(F: np.ndarray) -> np.ndarray:
    """pymoo's crowding distance of one front; the ends (and fronts of one or two) get inf."""
    if len(F) <= 2:
        return np.full(len(F), np.inf)
    return calc_crowding_distance(F)


def best(members: Sequence[Member], n: int) -> list[Member]:
    """The ``n`` fittest members, ties going to the older trial (NSGA-II survival)."""
    keys = fitness(members)
    order = sorted(range(len(members)), key=lambda i: (keys[i], members[i].number))
    return [members[i] for i in order[:n]]


def fresh(space: SearchSpace, seen: set[str], breed: Callable[[], Genome] | None,
          rng: np.random.Generator) -> Genome:
    """A genome whose hash is not in ``seen`` (then added): bred by ``breed`` when given, else
    (or when breeding keeps repeating itself) sampled at random."""
    genome = None
    for attempt in range(2 * FRESH_TRIES):
        genome = breed() if breed is not None and attempt < FRESH_TRIES else space.sample(rng)
        digest = space.genome_hash(genome)
        if digest not in seen:
            seen.add(digest)
            return genome
    return genome


def remember(space: SearchSpace, seen: set[str], results: Iterable[TrialResult]) -> None:
    """Add the told genomes to ``seen`` (a failed one may be invalid: it is left out)."""
    for result in results:
        if result.status != "failed" and result.genome is not None:
            seen.add(space.genome_hash(result.genome))


def members_to_json(space: SearchSpace, members: Iterable[Member]) -> list[dict[str, Any]]:
    """Members as JSON-serialisable data."""
    return [{"number": m.number, "genome": space.to_json(m.genome),
             "F": None if m.F is None else list(m.F), "violation": m.violation}
            for m in members]


def members_from_json(space: SearchSpace, data: Iterable[dict[str, Any]]) -> list[Member]:
    """The members :func:`members_to_json` wrote."""
    return [Member(d["number"], space.from_json(d["genome"]),
                   None if d["F"] is None else tuple(d["F"]), d["violation"]) for d in data]
