"""The ``rnn_cell`` search space: recurrent cells as DAGs, varied by network morphisms."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from nasplat.objective import MetricObjective
from nasplat.space import SearchSpace
from nasplat.spaces.rnn_cell import cell
from nasplat.spaces.rnn_cell.morphisms import Limits, random_morphism

if TYPE_CHECKING:
    import torch

    from nasplat.spaces.rnn_cell.model import CellLM

Genome = cell.Genome


class RnnCellSpace(SearchSpace):
    """Recurrent cells as DAGs over x_t, h_{t-1}, c_{t-1} (MOE/RNAS); mutations are morphisms.

    A cell has 1 to ``max_nodes`` nodes, each an activation (tanh, ReLU, sigmoid, identity) of a
    linear map of one or two earlier values, or a parameter-free gate (product, sum, tanh);
    h_t sums the output nodes and c_t, when the cell has a memory, is one node's value. The
    language model is an embedding, ``layers`` stacked cells and a linear decoder. ``mutate``
    applies one network morphism (insert / remove a node, change an activation, add / remove a
    connection, widen h) and ``inherit`` starts the child from its parent's trained weights, so
    that the child computes (nearly) what its parent did.
    """

    name = "rnn_cell"
    kind = "cell_dag"
    task = "language_modelling"
    default_dataset = "synthetic_sequence"
    default_objectives = ("val_perplexity", "params", "cell_nodes")

    class Options(BaseModel):
        """Options a study config may pass under ``space.options``."""

        model_config = ConfigDict(extra="forbid")
        vocab: int = Field(default=64, ge=2, description="vocabulary size: the dataset's")
        seq_len: int = Field(default=32, ge=2, description="window length: the dataset's")
        embedding: int = Field(default=32, ge=1, description="embedding width")
        hidden: int = Field(default=32, ge=1, description="hidden width of sampled cells")
        max_hidden: int = Field(default=128, ge=1,
                                description="widest hidden state the widen morphism reaches")
        layers: int = Field(default=1, ge=1, le=4, description="stacked cells")
        max_nodes: int = Field(default=12, ge=1, le=12, description="most nodes in a cell")
        bptt: int | None = Field(default=None, ge=1, description=(
            "truncate backpropagation through time every this many steps within a window "
            "(None: the whole window, as the dataset's windows already truncate it)"))

        @model_validator(mode="after")
        def _hidden_fits(self) -> RnnCellSpace.Options:
            if self.hidden > self.max_hidden:
                raise ValueError(f"hidden = {self.hidden} is over max_hidden = "
                                 f"{self.max_hidden}: raise max_hidden or lower hidden")
            return self

    def __init__(self, vocab: int = 64, seq_len: int = 32, embedding: int = 32, hidden: int = 32,
                 max_hidden: int = 128, layers: int = 1, max_nodes: int = 12,
                 bptt: int | None = None) -> None:
        self.vocab, self.seq_len, self.embedding, self.hidden = vocab, seq_len, embedding, hidden
        self.max_hidden, self.layers, self.max_nodes, self.bptt = (
            max_hidden, layers, max_nodes, bptt)
        self.limits = Limits(max_nodes, min(hidden, max_hidden), max_hidden)

    # --- the genome ----------------------------------------------------------------------------

    def sample(self, rng: np.random.Generator) -> Genome:
        """A random cell at the ``hidden`` width, its dead nodes dropped."""
        return self.repair(cell.sample(rng, self.hidden, self.max_nodes))

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        """One random network morphism of ``genome`` (see :mod:`.morphisms`)."""
        return random_morphism(genome, rng, self.limits)[1]

    def crossover(self, a: Genome, b: Genome, rng: np.random.Generator) -> Genome:
        """``a``'s first nodes, then ``b``'s, renumbered, repaired. Not a morphism: the
        ``morphism_nsga2`` strategy never calls it."""
        cut = int(rng.integers(1, len(a["nodes"]) + 1))
        head = cell.copy_genome(a)["nodes"][:cut]
        shift = cell.next_id(a)
        position = {n["id"]: i for i, n in enumerate(b["nodes"])}

        def ref(r: Any) -> Any:  # b's node, or a's node at the same position before the cut
            if isinstance(r, str):
                return r
            return r + shift if position[r] >= cut else head[position[r]]["id"]

        tail = [{"id": n["id"] + shift, "op": n["op"], "inputs": [ref(r) for r in n["inputs"]]}
                for n in cell.copy_genome(b)["nodes"][cut:]]
        outputs = [o + shift for o in b["outputs"]] if tail else list(a["outputs"])
        memory = a["memory"] if a["memory"] is not None and a["memory"] < shift else None
        return self.repair({"hidden": a["hidden"], "nodes": head + tail,
                            "outputs": outputs, "memory": memory})

    def validate(self, genome: Genome) -> None:
        """Raise ``InvalidGenome`` unless ``genome`` is a valid cell (see :mod:`.cell`)."""
        cell.validate(genome, self.max_nodes, self.limits.min_hidden, self.max_hidden)

    def repair(self, genome: Genome) -> Genome:
        """The nearest valid cell."""
        return cell.repair(genome, self.max_nodes, self.limits.min_hidden, self.max_hidden)

    def canonical(self, genome: Genome) -> Any:
        """Equal for isomorphic cells (node ids, node order and input order drop out)."""
        return cell.canonical(genome)

    # --- what strategies, surrogates and constraints see ---------------------------------------

    def encode(self, genome: Genome) -> np.ndarray:
        """Per node slot: op, inputs, output / memory flags; then the width."""
        return cell.encode(genome, self.max_nodes, self.max_hidden)

    def cheap_metrics(self, genome: Genome) -> dict[str, float]:
        """``params`` (exactly the built model's) and ``cell_nodes``."""
        from nasplat.spaces.rnn_cell.model import parameter_count

        return {"params": float(parameter_count(genome, self.vocab, self.embedding, self.layers)),
                "cell_nodes": float(len(genome["nodes"]))}

    def objectives(self) -> list[MetricObjective]:
        """``cell_nodes``, the cell's operation count, known before training."""
        return [MetricObjective("cell_nodes", "min", cheap=True)]

    # --- the model -----------------------------------------------------------------------------

    def build(self, genome: Genome) -> CellLM:
        """The language model of ``genome``, freshly initialised."""
        from nasplat.spaces.rnn_cell.model import CellLM

        return CellLM(genome, self.vocab, self.embedding, self.layers, self.bptt)

    def dummy_input(self, batch_size: int = 2) -> torch.Tensor:
        """A batch of token windows."""
        import torch

        return torch.zeros(batch_size, self.seq_len, dtype=torch.long)

    def inherit(self, parent_genome: Genome, parent_state: dict[str, Any],
                child_genome: Genome) -> dict[str, Any]:
        """The child's weights: its parent's, mapped through the morphism between them."""
        from nasplat.spaces.rnn_cell.inheritance import inherit_state

        return inherit_state(parent_genome, parent_state, child_genome,
                             lambda g: self.build(g).state_dict())
