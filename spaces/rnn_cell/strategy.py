"""``morphism_nsga2``: NSGA-II whose children are morphisms of one parent and inherit its weights.

MOE/RNAS (arXiv 2403.11173) evolves a population with NSGA-II survival, but makes each child
from a single parent by a network morphism and trains it from the parent's weights for fewer
epochs than a fresh model. Survival, tournaments, state and resume are those of ``nsga2``; only
breeding differs: no crossover, and each child is a :class:`~nasplat.strategy.Proposal` naming
its parent trial and a shorter training budget (``child_fidelity`` epochs).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from nasplat.errors import PluginError
from nasplat.objective import ObjectiveSpec
from nasplat.plugins.strategies._population import FRESH_TRIES, fresh
from nasplat.plugins.strategies.nsga2 import NSGA2
from nasplat.space import Genome, SearchSpace, has_capability
from nasplat.strategy import Proposal


class MorphismNSGA2(NSGA2):
    """NSGA-II over network morphisms: each child is one parent's ``mutate``, warm-started
    from that parent's weights (the space's ``inherit``) and trained ``child_fidelity`` epochs.
    Keep ``trainer.keep_weights`` at ``pareto`` or ``all`` so parents' weights exist."""

    name = "morphism_nsga2"

    class Options(BaseModel):
        """Options of morphism NSGA-II."""

        model_config = ConfigDict(extra="forbid")
        population: int = Field(default=20, ge=2)
        """Parents kept per generation, and the number of results that make a generation."""
        child_fidelity: float | None = Field(default=1.0, gt=0)
        """Epochs a child trains from its parent's weights (None: as long as a fresh model,
        ``trainer.epochs``)."""

    def __init__(self, space: SearchSpace, objectives: Sequence[ObjectiveSpec], seed: int = 0,
                 population: int = 20, child_fidelity: float | None = 1.0) -> None:
        if not has_capability(space, "inherit"):
            raise PluginError(f"strategy '{self.name}' needs weight inheritance, but space "
                              f"'{space.name}' has no inherit(); pick e.g. 'rnn_cell' or "
                              f"the strategy 'nsga2'")
        super().__init__(space, objectives, seed, population, crossover_prob=0.0,
                         mutation_prob=1.0)
        self.child_fidelity = child_fidelity

    def ask(self, n: int) -> list[Genome | Proposal]:
        """Random genomes until the first survival; then morphisms of tournament winners."""
        if not self.parents:
            return [fresh(self.space, self.seen, None, self.rng) for _ in range(n)]
        return [self._proposal() for _ in range(n)]

    def _proposal(self) -> Genome | Proposal:
        for _ in range(FRESH_TRIES):
            parent = self._tournament()
            child = self.space.mutate(parent.genome, self.rng)
            digest = self.space.genome_hash(child)
            if digest not in self.seen:
                self.seen.add(digest)
                return Proposal(child, parents=(parent.number,), fidelity=self.child_fidelity)
        return fresh(self.space, self.seen, None, self.rng)  # every morphism tried was known
