"""NSGA-II (Deb et al. 2002) on any genome, through the space's own mutate and crossover."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from nasplat import hookimpl
from nasplat.objective import ObjectiveSpec
from nasplat.plugins.strategies._population import (
    Member, best, fitness, fresh, member, members_from_json, members_to_json, remember)
from nasplat.space import Genome, SearchSpace
from nasplat.strategy import TrialResult, rng_state, set_rng_state


class NSGA2:
    """NSGA-II: non-dominated rank and crowding distance pick the survivors of each generation.

    The first generation is sampled at random. Every later genome is a child of the current
    parents: two binary tournaments (feasibility first, then rank, then crowding), the space's
    ``crossover`` with ``crossover_prob``, its ``mutate`` with ``mutation_prob``. Once
    ``population`` results have been told since the last survival, the parents and those
    offspring compete and the best ``population`` of them become the next parents
    (feasible before infeasible, then by rank and crowding, as Deb et al. 2002).

    Children are bred one at a time, whenever asked, so the engine may ask for any number at
    once. With a parallel executor some children of one generation are told in the next and
    compete there, as in asynchronous NSGA-II. Failed trials count toward a generation but never
    become parents. Genomes already told or proposed are not proposed again.
    """

    name = "nsga2"

    class Options(BaseModel):
        """Options of NSGA-II."""

        model_config = ConfigDict(extra="forbid")
        population: int = Field(default=20, ge=2)
        """Parents kept per generation, and the number of results that make a generation."""
        crossover_prob: float = Field(default=0.9, ge=0, le=1)
        """Probability that a child is the crossover of two parents (else a copy of one)."""
        mutation_prob: float = Field(default=1.0, ge=0, le=1)
        """Probability that a child is mutated; 1.0 because one ``mutate`` is already a small
        step (about one gene, like pymoo's per-variable rate of 1/n)."""

    def __init__(self, space: SearchSpace, objectives: Sequence[ObjectiveSpec], seed: int = 0,
                 population: int = 20, crossover_prob: float = 0.9, mutation_prob: float = 1.0
                 ) -> None:
        self.space, self.objectives = space, list(objectives)
        self.size, self.crossover_prob, self.mutation_prob = (
            population, crossover_prob, mutation_prob)
        self.rng = np.random.default_rng(seed)
        self.parents: list[Member] = []
        self.offspring: list[Member] = []
        self.told = 0
        """Results told since the last survival, failed ones included."""
        self.generation = 0
        self.seen: set[str] = set()
        self._keys = fitness(self.parents)

    def ask(self, n: int) -> list[Genome]:
        """``n`` unseen genomes: random ones until the first survival, children after."""
        breed = self._child if self.parents else None
        return [fresh(self.space, self.seen, breed, self.rng) for _ in range(n)]

    def tell(self, results: Sequence[TrialResult]) -> None:
        """Collect the offspring; after ``population`` results, select the next parents."""
        remember(self.space, self.seen, results)
        for result in results:
            child = member(result, self.objectives)
            if child is not None:
                self.offspring.append(child)
            self.told += 1
            if self.told >= self.size:
                self._survive()

    def _survive(self) -> None:
        self.parents = best(self.parents + self.offspring, self.size)
        self._keys = fitness(self.parents)
        self.offspring, self.told = [], 0
        self.generation += 1

    def _child(self) -> Genome:
        a, b = self._tournament(), self._tournament()
        child = a.genome
        if self.rng.random() < self.crossover_prob:
            child = self.space.crossover(a.genome, b.genome, self.rng)
        if self.rng.random() < self.mutation_prob:
            child = self.space.mutate(child, self.rng)
        return child

    def _tournament(self) -> Member:
        """Binary tournament: the fitter of two parents drawn with replacement."""
        i, j = (int(k) for k in self.rng.integers(len(self.parents), size=2))
        return self.parents[j if self._keys[j] < self._keys[i] else i]

    def state_dict(self) -> dict[str, Any]:
        """Parents, offspring, the generation's count, seen genomes and the random state."""
        return {"rng": rng_state(self.rng), "generation": self.generation, "told": self.told,
                "parents": members_to_json(self.space, self.parents),
                "offspring": members_to_json(self.space, self.offspring),
                "seen": sorted(self.seen)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue exactly where :meth:`state_dict` left off."""
        set_rng_state(self.rng, state["rng"])
        self.generation, self.told = state["generation"], state["told"]
        self.parents = members_from_json(self.space, state["parents"])
        self.offspring = members_from_json(self.space, state["offspring"])
        self.seen = set(state["seen"])
        self._keys = fitness(self.parents)


@hookimpl
def nasplat_register_strategies(register: Any) -> None:
    """Register NSGA-II."""
    register(NSGA2)
