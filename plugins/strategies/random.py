"""Random search: the baseline every strategy must beat."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from nasplat import hookimpl
from nasplat.objective import ObjectiveSpec
from nasplat.space import Genome, SearchSpace
from nasplat.strategy import TrialResult, rng_state, set_rng_state


class RandomSearch:
    """Samples genomes uniformly from the space: the baseline every strategy must beat."""

    name = "random"

    class Options(BaseModel):
        """Random search takes no options."""

        model_config = ConfigDict(extra="forbid")

    def __init__(self, space: SearchSpace, objectives: Sequence[ObjectiveSpec], seed: int = 0
                 ) -> None:
        self.space = space
        self.rng = np.random.default_rng(seed)

    def ask(self, n: int) -> list[Genome]:
        """``n`` genomes sampled independently."""
        return [self.space.sample(self.rng) for _ in range(n)]

    def tell(self, results: Sequence[TrialResult]) -> None:
        """Random search learns nothing from results."""

    def state_dict(self) -> dict[str, Any]:
        """The random generator's state."""
        return {"rng": rng_state(self.rng)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue exactly where :meth:`state_dict` left off."""
        set_rng_state(self.rng, state["rng"])


@hookimpl
def nasplat_register_strategies(register: Any) -> None:
    """Register random search."""
    register(RandomSearch)
