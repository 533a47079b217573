"""Regularized (aging) evolution (Real et al. 2019), Pareto-aware."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from nasplat import hookimpl
from nasplat.objective import ObjectiveSpec
from nasplat.plugins.strategies._population import (
    Key, Member, fitness, fresh, member, members_from_json, members_to_json, remember)
from nasplat.space import Genome, SearchSpace
from nasplat.strategy import TrialResult, rng_state, set_rng_state


class RegularizedEvolution:
    """Aging evolution: mutate the winner of a tournament, forget the oldest member.

    The population is the last ``population`` evaluated genomes (failed trials never enter it),
    filled at random first. A child is ``mutate`` of the winner of a tournament among ``sample``
    members drawn without replacement, or with ``crossover_prob`` the mutated crossover of two
    winners. Real et al. 2019 pick the most accurate; here the winner is the fittest by
    feasibility first (smaller violation among infeasible ones), then non-domination rank and
    crowding distance within the whole population. Genomes already told or proposed are not
    proposed again.
    """

    name = "evolution"

    class Options(BaseModel):
        """Options of regularized evolution."""

        model_config = ConfigDict(extra="forbid")
        population: int = Field(default=20, ge=2)
        """How many of the latest evaluated genomes may be parents (P in Real et al. 2019)."""
        sample: int = Field(default=5, ge=1)
        """Tournament size (S); larger means greedier."""
        crossover_prob: float = Field(default=0.0, ge=0, le=1)
        """Probability that a child mixes two winners before mutation (0: mutation only)."""

    def __init__(self, space: SearchSpace, objectives: Sequence[ObjectiveSpec], seed: int = 0,
                 population: int = 20, sample: int = 5, crossover_prob: float = 0.0) -> None:
        self.space, self.objectives = space, list(objectives)
        self.size, self.sample, self.crossover_prob = population, sample, crossover_prob
        self.rng = np.random.default_rng(seed)
        self.members: list[Member] = []
        """Oldest first."""
        self.seen: set[str] = set()
        self._keys: list[Key] | None = None

    def ask(self, n: int) -> list[Genome]:
        """``n`` unseen genomes: random ones until the population is full, children after."""
        breed = self._child if len(self.members) >= self.size else None
        return [fresh(self.space, self.seen, breed, self.rng) for _ in range(n)]

    def tell(self, results: Sequence[TrialResult]) -> None:
        """Add the new members, removing the oldest beyond ``population``."""
        remember(self.space, self.seen, results)
        for result in results:
            new = member(result, self.objectives)
            if new is not None:
                self.members.append(new)
        del self.members[:-self.size]
        self._keys = None

    def _child(self) -> Genome:
        winner = self._tournament()
        if self.rng.random() < self.crossover_prob:
            winner = self.space.crossover(winner, self._tournament(), self.rng)
        return self.space.mutate(winner, self.rng)

    def _tournament(self) -> Genome:
        """The fittest of ``sample`` members drawn without replacement."""
        if self._keys is None:
            self._keys = fitness(self.members)
        keys = self._keys
        drawn = self.rng.choice(len(self.members), size=min(self.sample, len(self.members)),
                                replace=False)
        return self.members[min((int(i) for i in drawn), key=lambda i: keys[i])].genome

    def state_dict(self) -> dict[str, Any]:
        """The population, seen genomes and the random state."""
        return {"rng": rng_state(self.rng), "members": members_to_json(self.space, self.members),
                "seen": sorted(self.seen)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue exactly where :meth:`state_dict` left off."""
        set_rng_state(self.rng, state["rng"])
        self.members = members_from_json(self.space, state["members"])
        self.seen = set(state["seen"])
        self._keys = None


@hookimpl
def nasplat_register_strategies(register: Any) -> None:
    """Register regularized evolution."""
    register(RegularizedEvolution)
