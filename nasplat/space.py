"""The SearchSpace interface: what a genome is, how it varies, and what it builds."""

from __future__ import annotations

import hashlib
import json
import math
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from nasplat.errors import InvalidGenome

if TYPE_CHECKING:
    import torch

    from nasplat.objective import Objective

Genome = Any
"""A genome is whatever value a space chooses (tuple, list of genes, dict ...) that its
``to_json`` turns into JSON; two genomes are the same architecture when their
``canonical`` forms are equal."""

GenomeKind = Literal["int_vector", "bit_mask", "gene_list", "cell_dag", "other"]
Task = Literal["image_classification", "language_modelling", "sequence_classification",
               "tabular_classification", "benchmark"]


class NoOptions(BaseModel):
    """Options of a plugin that takes none."""

    model_config = ConfigDict(extra="forbid")


class SearchSpace(ABC):
    """Describes a set of architectures: how to sample, vary, check, encode and build them.

    Subclass, set the class attributes, implement the abstract methods, and register the class
    through ``nasplat_register_spaces``. ``Options`` (a pydantic model) declares the options a
    study config may pass (``space.options``); they arrive as keyword arguments.

    Optional methods, looked up where needed:

    * ``evaluate(genome) -> dict[str, float]``: analytic metrics, for spaces that need no
      training (benchmarks, toy spaces); such spaces are evaluated without the trainer.
    * ``inherit(parent_genome, parent_state, child_genome) -> dict``: weight inheritance, a
      state dict for the child built from the parent's trained state.
    * ``repair(genome) -> Genome``: turn an invalid genome into the nearest valid one.
    * ``defaults() -> dict``: a partial study config (``trainer``, ``budget``, ``dataset``,
      ``objectives`` ...) the space suggests; merged under what the study config sets.
    * ``make_evaluator(config) -> Evaluator``: the space's own evaluation (e.g. heads trained
      on cached features) in place of the shared trainer.
    * ``defaults() -> dict``: a partial study config (trainer settings, budget, dataset) the
      space suggests; what the user sets wins.
    * ``report_sections(study) -> list[(title, html)]``: extra sections for ``nasplat report``.
    * ``int_bounds() -> list[(low, high)]``: integer bounds per gene, for samplers that need
      them (the ``optuna:*`` strategies).
    """

    name: ClassVar[str]
    kind: ClassVar[GenomeKind] = "other"
    task: ClassVar[Task]
    default_dataset: ClassVar[str | None] = None
    default_objectives: ClassVar[tuple[str, ...]] = ()
    Options: ClassVar[type[BaseModel]] = NoOptions

    # --- the genome --------------------------------------------------------------------------

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Genome:
        """A random valid genome."""

    @abstractmethod
    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        """A valid genome near ``genome``; never modifies ``genome`` in place."""

    @abstractmethod
    def crossover(self, a: Genome, b: Genome, rng: np.random.Generator) -> Genome:
        """A valid child genome mixing parents ``a`` and ``b``."""

    @abstractmethod
    def validate(self, genome: Genome) -> None:
        """Raise :class:`~nasplat.errors.InvalidGenome` saying what is wrong, or return."""

    def to_json(self, genome: Genome) -> Any:
        """A JSON-serialisable form of ``genome`` (default: the genome itself)."""
        return genome

    def from_json(self, data: Any) -> Genome:
        """The genome that ``to_json`` produced ``data`` from; validated."""
        self.validate(data)
        return data

    def canonical(self, genome: Genome) -> Any:
        """A JSON form equal for every genome that builds the same architecture."""
        return self.to_json(genome)

    def genome_hash(self, genome: Genome) -> str:
        """A stable hash of the architecture: equal for equal ``canonical`` forms."""
        text = json.dumps(self.canonical(genome), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def cardinality(self) -> float:
        """How many distinct architectures the space holds (``math.inf`` when unbounded)."""
        return math.inf

    # --- what the surrogates and the constraints see -----------------------------------------

    @abstractmethod
    def encode(self, genome: Genome) -> np.ndarray:
        """A fixed-length float vector describing ``genome``, for surrogates."""

    @abstractmethod
    def cheap_metrics(self, genome: Genome) -> dict[str, float]:
        """Metrics known without training, e.g. ``{"params": ..., "flops": ...}``."""

    def objectives(self) -> list[Objective]:
        """Objectives the space itself defines (beyond the registered objective plugins)."""
        return []

    # --- the model ---------------------------------------------------------------------------

    def build(self, genome: Genome) -> torch.nn.Module:
        """The PyTorch model of ``genome``, freshly initialised."""
        raise NotImplementedError(f"search space '{self.name}' builds no model")

    def dummy_input(self, batch_size: int = 2) -> Any:
        """An input batch of the right shape for ``build(genome)``'s forward pass."""
        raise NotImplementedError(f"search space '{self.name}' builds no model")

    def describe(self) -> str:
        """One paragraph for ``nasplat spaces show``: defaults to the class docstring."""
        return (type(self).__doc__ or "").strip()


def check(condition: bool, message: str) -> None:
    """Raise :class:`InvalidGenome` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise InvalidGenome(message)


def has_capability(obj: object, method: str) -> bool:
    """Whether a plugin object implements an optional method."""
    return callable(getattr(obj, method, None))
