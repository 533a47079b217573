"""The ``toy_mlp`` search space: the widths of an MLP's hidden layers, scored without training."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from nasplat.objective import MetricObjective
from nasplat.space import SearchSpace, check

if TYPE_CHECKING:  # torch is imported where it is used: every nasplat command loads every plugin
    import torch

Genome = list[int]
"""One width per hidden layer, each taken from ``ToyMLP.WIDTHS``, e.g. ``[64, 32, 32, 8]``."""


class ToyMLP(SearchSpace):
    """An MLP on 16 features, each hidden layer 8, 16, 32 or 64 wide; scored without training."""

    name = "toy_mlp"
    kind = "int_vector"
    task = "benchmark"
    default_objectives = ("error", "params")
    WIDTHS = (8, 16, 32, 64)
    INPUTS, OUTPUTS = 16, 10

    class Options(BaseModel):
        """Options a study config may pass under ``space.options``."""

        model_config = ConfigDict(extra="forbid")  # a misspelled option is an error, not ignored
        layers: int = Field(default=4, ge=1, le=8, description="number of hidden layers")

    def __init__(self, layers: int = 4) -> None:
        self.layers = layers

    # --- the genome -----------------------------------------------------------------------------

    def sample(self, rng: np.random.Generator) -> Genome:
        """A width for each layer, uniformly at random."""
        return [int(w) for w in rng.choice(self.WIDTHS, size=self.layers)]

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        """A copy of ``genome`` with one layer given another width."""
        child = list(genome)
        i = int(rng.integers(self.layers))
        child[i] = int(rng.choice([w for w in self.WIDTHS if w != child[i]]))
        return child

    def crossover(self, a: Genome, b: Genome, rng: np.random.Generator) -> Genome:
        """Each layer's width from ``a`` or ``b`` with equal chance (uniform crossover)."""
        from_a = rng.random(self.layers) < 0.5
        return [int(x if take else y) for x, y, take in zip(a, b, from_a, strict=True)]

    def validate(self, genome: Genome) -> None:
        """Raise ``InvalidGenome`` unless ``genome`` is ``layers`` widths from ``WIDTHS``."""
        check(isinstance(genome, list) and len(genome) == self.layers,
              f"a toy_mlp genome is a list of {self.layers} layer widths, got {genome!r}")
        for width in genome:
            check(type(width) is int and width in self.WIDTHS,
                  f"every width must be one of {self.WIDTHS}, got {width!r}")

    def cardinality(self) -> float:
        """Every combination of widths is a distinct network."""
        return float(len(self.WIDTHS) ** self.layers)

    # --- what strategies, surrogates and constraints see ----------------------------------------

    def encode(self, genome: Genome) -> np.ndarray:
        """``log2`` of each width: equal steps between neighbouring choices."""
        return np.log2(np.asarray(genome, dtype=float))

    def cheap_metrics(self, genome: Genome) -> dict[str, float]:
        """The parameter count, exactly that of ``build(genome)``, computed without building it."""
        sizes = [self.INPUTS, *genome, self.OUTPUTS]
        return {"params": float(sum(n_in * n_out + n_out for n_in, n_out in zip(sizes, sizes[1:])))}

    def evaluate(self, genome: Genome) -> dict[str, float]:
        """A made-up, smooth validation error that wider networks lower, with diminishing returns.

        Having ``evaluate`` makes nasplat skip training for this space. Widening after a narrower
        layer is penalised (a bottleneck loses what the next layer cannot recover).
        """
        capacity = sum(math.log2(w) for w in genome) / len(genome)  # 3 (all 8) .. 6 (all 64)
        bottleneck = sum(max(0.0, math.log2(b / a)) for a, b in zip(genome, genome[1:]))
        return {"error": 0.05 + 0.6 * math.exp(3 - capacity) + 0.02 * bottleneck}

    def objectives(self) -> list[MetricObjective]:
        """``error`` from :meth:`evaluate`; ``params`` is cheap, known before evaluating."""
        return [MetricObjective("error", "min"), MetricObjective("params", "min", cheap=True)]

    # --- the model ------------------------------------------------------------------------------

    def build(self, genome: Genome) -> torch.nn.Module:
        """The MLP: ``Linear`` + ``ReLU`` per hidden layer, then a linear output layer."""
        from torch import nn

        sizes = [self.INPUTS, *genome]
        layers: list[nn.Module] = []
        for n_in, n_out in zip(sizes, sizes[1:]):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        return nn.Sequential(*layers, nn.Linear(sizes[-1], self.OUTPUTS))

    def dummy_input(self, batch_size: int = 2) -> torch.Tensor:
        """A batch of random feature vectors for ``build(genome)``'s forward pass."""
        import torch

        return torch.randn(batch_size, self.INPUTS)
